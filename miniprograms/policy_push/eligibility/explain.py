"""Each comparison of a rule in the reader's words: "年龄≥80岁：已满足".

Every word is a msgid translated in the current locale (``locales.use`` picks it); the
operators are written as the mathematical signs, which read the same in all three.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal

from locales import N_, current, format_day, gettext
from miniprograms.policy_push.eligibility.rules import Compare

COMPARISON = N_("{label} {op} {value}")
ONE_OF = N_("{label} is {values}")
BETWEEN = N_("{label} from {low} to {high}")
IS_SET = N_("{label} is on record")
CLAUSE = N_("{condition}: {outcome}")
# Under a "not": the comparison's own outcome, and a reminder that the policy wants it false.
NEGATED = N_("{condition}: {outcome} (the policy requires the opposite)")
PREFIX = N_("{code} and its subcategories")
YES = N_("yes")
NO = N_("no")

OUTCOMES = {
    ("met", None): N_("met"),
    ("not_met", None): N_("not met"),
    ("unknown", "missing"): N_("unknown, information needed"),
    ("unknown", "stale"): N_("unknown, information out of date"),
}
SIGNS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
# Parsed once (babel's formatters are several times slower given a locale name), with the
# territories whose conventions the catalogs follow.
_BABEL = {
    name: Locale.parse(tag)
    for name, tag in {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "en": "en"}.items()
}


def clause(rule: Compare, outcome: str, gap: str | None, negated: bool) -> str:
    """The explanation of one evaluated comparison, in the current locale."""
    template = NEGATED if negated else CLAUSE
    return gettext(template, condition=condition(rule), outcome=gettext(OUTCOMES[outcome, gap]))


def condition(rule: Compare) -> str:
    """What the comparison asks, e.g. "年龄≥80岁" or "Household registration is local"."""
    assert rule.spec is not None
    label = gettext(rule.spec.label)
    if rule.op == "is_set":
        return gettext(IS_SET, label=label)
    if rule.op == "in":
        shown = [value(rule, v) for v in rule.value]
        return gettext(ONE_OF, label=label, values=format_list(shown, "or", _BABEL[current()]))
    if rule.op == "between":
        low, high = (value(rule, v) for v in rule.value)
        return gettext(BETWEEN, label=label, low=low, high=high)
    return gettext(COMPARISON, label=label, op=SIGNS[rule.op], value=value(rule, rule.value))


def value(rule: Compare, raw: Any) -> str:
    """One value of the rule as the reader writes it (with the field's unit)."""
    field = rule.spec
    assert field is not None
    if field.kind == "bool":
        return gettext(YES if raw else NO)
    if field.kind == "enum":
        assert field.codes is not None
        return gettext(field.codes[raw])
    if field.kind == "code_prefix":
        return gettext(PREFIX, code=raw)
    if isinstance(raw, date):
        return format_day(raw)
    if field.kind in ("int", "number"):
        number = format_decimal(raw, locale=_BABEL[current()])
        return gettext(field.unit, n=number) if field.unit else number
    return str(raw)
