"""The profile fields a rule may name, each declared once: its type, unit, source, label,
the column it lives in, and how old a fact may be before it counts as unknown.

Two registries of the same shape: :data:`RESIDENT` and :data:`ENTERPRISE`. Labels, units and
code names are msgids, translated when an explanation is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Literal

import msgspec

from locales import N_

# int: whole numbers; number: int or float, never Decimal (JSON has no decimals, and a float
# compares the same in Python, SQLite and PostgreSQL's double precision); code_prefix: a
# hierarchical code where a rule's value matches every code that starts with it.
Kind = Literal["int", "number", "bool", "date", "enum", "code_prefix", "string"]
Source = Literal[
    "population", "enterprise", "employment", "social_security", "housing_fund", "self_declared"
]
# The only derivation so far: whole years from a date column to the evaluation day.
Derived = Literal["years_since"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class Field(msgspec.Struct, frozen=True, kw_only=True):
    """One typed fact about a resident or an enterprise."""

    name: str
    kind: Kind
    label: str  # msgid
    source: Source
    column: str
    # Where the fact's as_of date lives; None for facts that never go stale (a birth date).
    as_of_column: str | None = None
    max_age: timedelta | None = None
    # msgid holding ``{n}``, e.g. "{n} years old" -> "{n}岁".
    unit: str | None = None
    # enum: code -> label msgid.
    codes: Mapping[str, str] | None = None
    # string / code_prefix: what a value (or a prefix) must look like.
    pattern: str | None = None
    # int / number: inclusive bounds on a rule's values (and so on the SQL parameters).
    bounds: tuple[float, float] | None = None
    derived: Derived | None = None

    def __post_init__(self) -> None:
        # Columns are pasted into SQL, so they must be plain identifiers, checked once here.
        for column in (self.column, self.as_of_column):
            if column is not None and not _IDENTIFIER.fullmatch(column):
                raise ValueError(f"{self.name}: column {column!r} is not a plain identifier")
        if (self.max_age is None) != (self.as_of_column is None):
            raise ValueError(f"{self.name}: max_age and as_of_column go together")
        if (self.kind == "enum") != bool(self.codes):
            raise ValueError(f"{self.name}: an enum, and only an enum, lists its codes")
        if self.kind in ("int", "number") and self.bounds is None:
            raise ValueError(f"{self.name}: numbers need bounds")
        if self.derived and self.kind != "int":
            raise ValueError(f"{self.name}: a derived age in years is an int")


class Registry:
    """The fields of one audience, by name (rules name fields, never columns)."""

    def __init__(self, audience: str, fields: list[Field]) -> None:
        self.audience = audience
        self._fields = {f.name: f for f in fields}
        if len(self._fields) != len(fields):
            raise ValueError(f"{audience}: a field is declared twice")

    def get(self, name: str) -> Field | None:
        return self._fields.get(name)

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields.values())

    def columns(self) -> list[str]:
        """Every column the registry reads, each once, values before as_of dates."""
        seen = dict.fromkeys(f.column for f in self)
        seen.update(dict.fromkeys(f.as_of_column for f in self if f.as_of_column))
        return list(seen)


YEARS_OLD = N_("{n} years old")
YEARS = N_("{n} years")
MONTHS = N_("{n} months")
PEOPLE = N_("{n} people")

DISTRICT = r"\d{6}"  # GB/T 2260 county-level code
# GB/T 4754 industry: a section letter, then division (2), group (3) or class (4) digits.
INDUSTRY = r"[A-T](\d{2,4})?"

HUKOU = {
    "local_urban": N_("Local urban registration"),
    "local_rural": N_("Local rural registration"),
    "non_local": N_("Registered elsewhere"),
}
EMPLOYMENT = {
    "employed": N_("Employed"),
    "self_employed": N_("Self-employed"),
    "flexible": N_("Flexibly employed"),
    "unemployed": N_("Registered unemployed"),
    "retired": N_("Retired"),
    "student": N_("Student"),
}
SIZE_CLASS = {
    "micro": N_("Micro enterprise"),
    "small": N_("Small enterprise"),
    "medium": N_("Medium enterprise"),
    "large": N_("Large enterprise"),
}

_YEAR = timedelta(days=366)
_QUARTER = timedelta(days=92)
_MONTH = timedelta(days=31)  # counts of months move every month

RESIDENT = Registry(
    "resident",
    [
        Field(name="age", kind="int", label=N_("Age"), source="population", column="birth_date",
              unit=YEARS_OLD, bounds=(0, 150), derived="years_since"),
        Field(name="district", kind="string", label=N_("District of residence"),
              source="population", column="district", as_of_column="population_as_of",
              max_age=_YEAR, pattern=DISTRICT),
        Field(name="hukou_type", kind="enum", label=N_("Household registration"),
              source="population", column="hukou_type", as_of_column="population_as_of",
              max_age=_YEAR, codes=HUKOU),
        Field(name="household_size", kind="int", label=N_("Household size"),
              source="population", column="household_size", as_of_column="population_as_of",
              max_age=_YEAR, unit=PEOPLE, bounds=(1, 50)),
        Field(name="employment_status", kind="enum", label=N_("Employment status"),
              source="employment", column="employment_status", as_of_column="employment_as_of",
              max_age=_QUARTER, codes=EMPLOYMENT),
        Field(name="months_unemployed", kind="int", label=N_("Months unemployed"),
              source="employment", column="months_unemployed", as_of_column="employment_as_of",
              max_age=_MONTH, unit=MONTHS, bounds=(0, 600)),
        Field(name="is_retired", kind="bool", label=N_("Is retired"), source="social_security",
              column="is_retired", as_of_column="social_security_as_of", max_age=_YEAR),
        Field(name="disability_level", kind="int", label=N_("Disability level"),
              source="self_declared", column="disability_level",
              as_of_column="self_declared_as_of", max_age=_YEAR, bounds=(0, 4)),
        Field(name="has_housing_fund", kind="bool", label=N_("Has a housing fund account"),
              source="housing_fund", column="has_housing_fund",
              as_of_column="housing_fund_as_of", max_age=_QUARTER),
    ],
)  # fmt: skip

ENTERPRISE = Registry(
    "enterprise",
    [
        Field(name="industry_code", kind="code_prefix", label=N_("Industry (GB/T 4754)"),
              source="enterprise", column="industry_code", as_of_column="enterprise_as_of",
              max_age=_YEAR, pattern=INDUSTRY),
        Field(name="size_class", kind="enum", label=N_("Enterprise size"), source="enterprise",
              column="size_class", as_of_column="enterprise_as_of", max_age=_YEAR,
              codes=SIZE_CLASS),
        Field(name="district", kind="string", label=N_("Registered district"),
              source="enterprise", column="district", as_of_column="enterprise_as_of",
              max_age=_YEAR, pattern=DISTRICT),
        Field(name="years_since_founding", kind="int", label=N_("Years since founding"),
              source="enterprise", column="founded_on", unit=YEARS, bounds=(0, 150),
              derived="years_since"),
        Field(name="employee_count", kind="int", label=N_("Employees insured"),
              source="social_security", column="employee_count",
              as_of_column="social_security_as_of", max_age=_QUARTER, unit=PEOPLE,
              bounds=(0, 1_000_000)),
        Field(name="high_tech_certified", kind="bool", label=N_("Certified high-tech enterprise"),
              source="self_declared", column="high_tech_certified",
              as_of_column="self_declared_as_of", max_age=_YEAR),
        Field(name="unemployment_insurance_months", kind="int",
              label=N_("Months of unemployment insurance paid in a row"),
              source="social_security", column="unemployment_insurance_months",
              as_of_column="social_security_as_of", max_age=_MONTH, unit=MONTHS,
              bounds=(0, 600)),
    ],
)  # fmt: skip

# Each audience's fields, by the audience a policy names.
REGISTRIES: Mapping[str, Registry] = {"resident": RESIDENT, "enterprise": ENTERPRISE}
