"""The facts matching reads: one row per resident and per enterprise holding the columns of
:mod:`.eligibility.fields`, filled from the province's registries with the person's consent
and from what they declare themselves, each group of facts with the day its source vouched
for it (a fact older than its field allows is unknown, never a stale yes).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from tortoise.models import Model

from integrations.provincial.enterprise import EnterpriseProfile as RegistryEnterprise
from integrations.provincial.enterprise import EnterpriseUpstream
from integrations.provincial.gateway import AuditHook
from integrations.provincial.population import PopulationProfile, PopulationUpstream
from locales import gettext
from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    REGISTRIES,
    RESIDENT,
    Fact,
    facts_from_row,
)
from miniprograms.policy_push.models import EnterpriseProfile, ProfileConsent, ResidentProfile
from miniprograms.policy_push.schemas import Audience, DeclaredIn, FactOut, ProfileOut

PURPOSE = "policy_matching"
CHINA = ZoneInfo("Asia/Shanghai")
TABLES: dict[str, type[Model]] = {"resident": ResidentProfile, "enterprise": EnterpriseProfile}
# What a resident or an enterprise may declare themselves (the registry says so, field by
# field): everything else comes from a registry.
DECLARABLE = {
    "resident": {f.name: f.column for f in RESIDENT if f.source == "self_declared"},
    "enterprise": {f.name: f.column for f in ENTERPRISE if f.source == "self_declared"},
}
_HUKOU = {"local_urban", "local_rural", "non_local"}
_EMPLOYMENT = {"employed", "self_employed", "flexible", "unemployed", "retired", "student"}


async def facts(audience: str, account_id: str | uuid.UUID) -> dict[str, Fact]:
    """What we know of one resident or enterprise, by field name (nothing when no row)."""
    rows = await TABLES[audience].filter(account_id=account_id).values()
    return facts_from_row(REGISTRIES[audience], rows[0]) if rows else {}


def population_columns(profile: PopulationProfile, as_of: date) -> dict[str, Any]:
    """The registry's answer as profile columns. Codes we do not know are left unknown
    rather than guessed."""
    employment = profile.employment if profile.employment in _EMPLOYMENT else None
    return {
        "birth_date": date.fromisoformat(profile.birth_date),
        "district": profile.hukou_district,
        "hukou_type": profile.hukou_type if profile.hukou_type in _HUKOU else None,
        "household_size": profile.household_size,
        "population_as_of": as_of,
        "employment_status": employment,
        "months_unemployed": profile.months_unemployed if employment else None,
        "employment_as_of": as_of,
        # The registry holds the pension status the social security bureau reported.
        "is_retired": profile.employment == "retired" if employment else None,
        "social_security_as_of": as_of,
    }


def enterprise_columns(profile: RegistryEnterprise, as_of: date) -> dict[str, Any]:
    """The enterprise registry's answer as profile columns."""
    return {
        "industry_code": profile.industry_code,
        "size_class": profile.size_class,
        "district": profile.district,
        "founded_on": date.fromisoformat(profile.founded_on) if profile.founded_on else None,
        "enterprise_as_of": as_of,
        "employee_count": profile.insured_employees,
        "unemployment_insurance_months": profile.unemployment_insurance_months,
        "social_security_as_of": as_of,
    }


async def store(audience: str, account_id: str | uuid.UUID, columns: dict[str, Any]) -> None:
    """Write some columns of one profile, creating it if needed, in one statement (two
    refreshes at once both land; the later one's values win)."""
    model = TABLES[audience]
    row = model(account_id=uuid.UUID(str(account_id)), **columns)
    await model.bulk_create([row], on_conflict=["account_id"], update_fields=list(columns))


async def consent(account_id: str | uuid.UUID, given_by: str, registry: str) -> ProfileConsent:
    """Record the consent a registry read is made under; its id is the consent reference."""
    return await ProfileConsent.create(
        id=uuid.uuid4(),
        account_id=uuid.UUID(str(account_id)),
        given_by=uuid.UUID(given_by),
        registry=registry,
        purpose=PURPOSE,
    )


async def refresh_resident(
    account_id: str,
    given_by: str,
    id_number: str,
    client: PopulationUpstream,
    audit: AuditHook,
) -> None:
    """Fetch the resident's facts from the population registry under a fresh consent (its
    reference is what the registry and the audit see) and keep them with their date."""
    given = await consent(account_id, given_by, "population")
    fetched = await client.profile(
        id_number, consent_ref=str(given.id), audit=audit, purpose=f"{PURPOSE}:{given.id}"
    )
    await store("resident", account_id, population_columns(fetched.data, _day(fetched.as_of)))


async def refresh_enterprise(
    enterprise_id: str,
    credit_code: str,
    name: str,
    given_by: str,
    client: EnterpriseUpstream,
    audit: AuditHook,
) -> None:
    """Fetch an enterprise's facts from the enterprise registry, consented by its admin."""
    given = await consent(enterprise_id, given_by, "enterprise")
    fetched = await client.profile(
        credit_code, consent_ref=str(given.id), audit=audit, purpose=f"{PURPOSE}:{given.id}"
    )
    columns = enterprise_columns(fetched.data, _day(fetched.as_of))
    await store("enterprise", enterprise_id, {"credit_code": credit_code, "name": name, **columns})


async def declare(
    audience: Audience, account_id: str, data: DeclaredIn, today: date, *, credit_code: str = ""
) -> bool:
    """Keep what a resident or enterprise declares themselves, dated today; False when they
    declared nothing of their audience's."""
    given = {
        DECLARABLE[audience][name]: value
        for name, value in msgspec.structs.asdict(data).items()
        if name in DECLARABLE[audience] and value is not None
    }
    if not given:
        return False
    extra = {"credit_code": credit_code} if audience == "enterprise" else {}
    await store(audience, account_id, {**given, **extra, "self_declared_as_of": today})
    return True


def profile_out(audience: str, known: dict[str, Fact], today: date) -> ProfileOut:
    """Every field of the audience with what we know, where from and whether still fresh."""
    out = []
    for field in REGISTRIES[audience]:
        fact = known.get(field.name)
        fresh = fact is not None and (
            field.max_age is None
            or (fact.as_of is not None and fact.as_of >= today - field.max_age)
        )
        out.append(
            FactOut(
                field=field.name,
                label=gettext(field.label),
                value=_shown(fact.value) if fact else None,
                source=field.source,
                as_of=fact.as_of if fact else None,
                fresh=fresh,
                declarable=field.name in DECLARABLE[audience],
            )
        )
    return ProfileOut(audience=audience, facts=out)  # type: ignore[arg-type]


def _shown(value: Any) -> str | float | bool:
    return value.isoformat() if isinstance(value, date) else value


def _day(moment: Any) -> date:
    """The day in China a registry vouched for its answer."""
    return moment.astimezone(CHINA).date()
