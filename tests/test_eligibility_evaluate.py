"""One person or enterprise against one rule: situations in the style of OpenFisca's tests
(who, on which day, what the rule says, the answer and the outcome of every clause)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from locales import use
from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    RESIDENT,
    Fact,
    Registry,
    evaluate,
    facts_from_row,
    load,
)

TODAY = date(2026, 11, 28)
FRESH = TODAY - timedelta(days=10)


def pop(value: Any, as_of: date | None = FRESH) -> Fact:
    return Fact(value, "population", as_of)


AGE_80 = {"field": "age", "op": ">=", "value": 80}
LOCAL = {"field": "hukou_type", "op": "in", "value": ["local_urban", "local_rural"]}
ELDERLY = {"all": [AGE_80, LOCAL]}
EMPLOYMENT = {"field": "employment_status", "op": "=", "value": "unemployed"}

# (situation, registry, rule, facts, day, answer, clause outcomes in rule order)
SITUATIONS: list[tuple[str, Registry, Any, dict[str, Fact], date, str, list[str]]] = [
    ("turns 80 today", RESIDENT, ELDERLY,
     {"age": pop(date(1946, 11, 28)), "hukou_type": pop("local_urban")}, TODAY,
     "eligible", ["met", "met"]),
    ("turns 80 tomorrow", RESIDENT, ELDERLY,
     {"age": pop(date(1946, 11, 29)), "hukou_type": pop("local_rural")}, TODAY,
     "not_eligible", ["not_met", "met"]),
    ("born 29 Feb, the day before 1 March of a common year", RESIDENT,
     {"field": "age", "op": ">=", "value": 18}, {"age": pop(date(2008, 2, 29))},
     date(2026, 2, 28), "not_eligible", ["not_met"]),
    ("born 29 Feb, 1 March of a common year", RESIDENT,
     {"field": "age", "op": ">=", "value": 18}, {"age": pop(date(2008, 2, 29))},
     date(2026, 3, 1), "eligible", ["met"]),
    ("born 29 Feb, 29 Feb of a leap year", RESIDENT, {"field": "age", "op": "=", "value": 20},
     {"age": pop(date(2008, 2, 29))}, date(2028, 2, 29), "eligible", ["met"]),
    ("born 28 Feb, evaluated on 29 Feb", RESIDENT, {"field": "age", "op": "=", "value": 1},
     {"age": pop(date(2027, 2, 28))}, date(2028, 2, 29), "eligible", ["met"]),
    ("between includes its upper end", RESIDENT,
     {"field": "household_size", "op": "between", "value": [1, 3]},
     {"household_size": pop(3)}, TODAY, "eligible", ["met"]),
    ("between excludes what lies past it", RESIDENT,
     {"field": "household_size", "op": "between", "value": [1, 3]},
     {"household_size": pop(4)}, TODAY, "not_eligible", ["not_met"]),
    ("age between 60 and 79 on the 80th birthday", RESIDENT,
     {"field": "age", "op": "between", "value": [60, 79]}, {"age": pop(date(1946, 11, 28))},
     TODAY, "not_eligible", ["not_met"]),
    ("no registration on record: we must ask", RESIDENT, ELDERLY,
     {"age": pop(date(1930, 1, 1))}, TODAY, "need_more_information", ["met", "unknown"]),
    ("a null value is no fact", RESIDENT, ELDERLY,
     {"age": pop(date(1930, 1, 1)), "hukou_type": pop(None)}, TODAY,
     "need_more_information", ["met", "unknown"]),
    ("one clause not met decides all, whatever is unknown", RESIDENT, ELDERLY,
     {"age": pop(date(1990, 1, 1))}, TODAY, "not_eligible", ["not_met", "unknown"]),
    ("one clause met decides any, whatever is unknown", RESIDENT, {"any": [LOCAL, AGE_80]},
     {"age": pop(date(1930, 1, 1))}, TODAY, "eligible", ["unknown", "met"]),
    ("any with nothing met but an unknown", RESIDENT, {"any": [LOCAL, AGE_80]},
     {"age": pop(date(1990, 1, 1))}, TODAY, "need_more_information", ["unknown", "not_met"]),
    ("not keeps unknown unknown", RESIDENT, {"not": LOCAL}, {}, TODAY,
     "need_more_information", ["unknown"]),
    ("not turns not met into met", RESIDENT, {"not": LOCAL},
     {"hukou_type": pop("non_local")}, TODAY, "eligible", ["not_met"]),
    ("a fact just within its max age", RESIDENT, EMPLOYMENT,
     {"employment_status": Fact("unemployed", "employment", TODAY - timedelta(days=92))},
     TODAY, "eligible", ["met"]),
    ("a fact one day too old is unknown, not a stale yes", RESIDENT, EMPLOYMENT,
     {"employment_status": Fact("unemployed", "employment", TODAY - timedelta(days=93))},
     TODAY, "need_more_information", ["unknown"]),
    ("a fact with no as_of cannot be fresh", RESIDENT, EMPLOYMENT,
     {"employment_status": Fact("unemployed", "employment", None)}, TODAY,
     "need_more_information", ["unknown"]),
    ("a birth date never goes stale", RESIDENT, AGE_80,
     {"age": pop(date(1930, 1, 1), as_of=None)}, TODAY, "eligible", ["met"]),
    ("is_set is never unknown", RESIDENT, {"field": "disability_level", "op": "is_set"}, {},
     TODAY, "not_eligible", ["not_met"]),
    # Known once but out of date: it may have changed either way, so unknown, and asked for
    # again (not "not set", which would be a stale yes under "not").
    ("not is_set on a stale fact", RESIDENT,
     {"not": {"field": "disability_level", "op": "is_set"}},
     {"disability_level": Fact(2, "self_declared", TODAY - timedelta(days=400))}, TODAY,
     "need_more_information", ["unknown"]),
    ("not is_set on a fact never given", RESIDENT,
     {"not": {"field": "disability_level", "op": "is_set"}}, {}, TODAY, "eligible",
     ["not_met"]),
    ("a yes/no equals false", RESIDENT, {"field": "is_retired", "op": "=", "value": False},
     {"is_retired": Fact(False, "social_security", FRESH)}, TODAY, "eligible", ["met"]),
    ("an industry division matches its classes", ENTERPRISE,
     {"field": "industry_code", "op": "=", "value": "C39"},
     {"industry_code": Fact("C3911", "enterprise", FRESH)}, TODAY, "eligible", ["met"]),
    ("an industry outside the division", ENTERPRISE,
     {"field": "industry_code", "op": "in", "value": ["C39", "I65"]},
     {"industry_code": Fact("C4011", "enterprise", FRESH)}, TODAY, "not_eligible",
     ["not_met"]),
    ("!= on a prefix excludes the whole division", ENTERPRISE,
     {"field": "industry_code", "op": "!=", "value": "C"},
     {"industry_code": Fact("C3911", "enterprise", FRESH)}, TODAY, "not_eligible",
     ["not_met"]),
    ("stable-employment refund: small, paid a year, founded two years ago today", ENTERPRISE,
     {"all": [{"field": "size_class", "op": "in", "value": ["micro", "small"]},
              {"field": "unemployment_insurance_months", "op": ">=", "value": 12},
              {"field": "years_since_founding", "op": ">=", "value": 2}]},
     {"size_class": Fact("small", "enterprise", FRESH),
      "unemployment_insurance_months": Fact(12, "social_security", TODAY - timedelta(days=31)),
      "years_since_founding": Fact(date(2024, 11, 28), "enterprise")}, TODAY,
     "eligible", ["met", "met", "met"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("registry", "rule", "facts", "on", "answer", "outcomes"),
    [case[1:] for case in SITUATIONS],
    ids=[case[0] for case in SITUATIONS],
)
def test_situation(
    registry: Registry,
    rule: Any,
    facts: dict[str, Fact],
    on: date,
    answer: str,
    outcomes: list[str],
) -> None:
    verdict = evaluate(load(json.dumps(rule), registry), facts, on)
    assert verdict.answer == answer
    assert [c.outcome for c in verdict.clauses] == outcomes


def test_the_verdict_names_each_missing_or_stale_fact_once_with_its_clause_path() -> None:
    rule = load(
        json.dumps({"all": [LOCAL, {"any": [EMPLOYMENT, {"not": LOCAL}]}, AGE_80]}), RESIDENT
    )
    stale = Fact("unemployed", "employment", TODAY - timedelta(days=200))
    verdict = evaluate(rule, {"employment_status": stale, "age": pop(date(1940, 5, 5))}, TODAY)
    assert verdict.answer == "need_more_information"
    assert [(m.field, m.gap) for m in verdict.missing] == [
        ("hukou_type", "missing"),
        ("employment_status", "stale"),
    ]
    assert [(c.path, c.outcome, c.gap, c.negated) for c in verdict.clauses] == [
        ("$.all[0]", "unknown", "missing", False),
        ("$.all[1].any[0]", "unknown", "stale", False),
        ("$.all[1].any[1].not", "unknown", "missing", True),
        ("$.all[2]", "met", None, False),
    ]
    assert verdict.clauses[1].source == "employment" and verdict.clauses[1].as_of == stale.as_of


def test_facts_from_a_database_row_come_back_typed_with_their_as_of() -> None:
    row = {"birth_date": "1946-11-28", "is_retired": 1, "social_security_as_of": "2026-11-01",
           "hukou_type": None, "population_as_of": "2026-11-01"}  # fmt: skip
    facts = facts_from_row(RESIDENT, row)
    assert facts == {
        "age": Fact(date(1946, 11, 28), "population", None),
        "is_retired": Fact(True, "social_security", date(2026, 11, 1)),
    }


EXPLAINED = {
    "all": [
        AGE_80,
        LOCAL,
        {"not": {"field": "is_retired", "op": "=", "value": True}},
        {"field": "household_size", "op": "between", "value": [1, 3]},
        EMPLOYMENT,
        {"field": "disability_level", "op": "is_set"},
    ]
}
FACTS = {
    "age": pop(date(1946, 11, 28)),
    "hukou_type": pop("local_urban"),
    "is_retired": Fact(True, "social_security", FRESH),
    "employment_status": Fact("unemployed", "employment", TODAY - timedelta(days=100)),
}
WORDS = {
    "zh_Hans": [
        "年龄≥80岁：已满足",
        "户籍类型为本市城镇户籍或本市农村户籍：已满足",
        "是否退休=是：已满足（政策要求相反）",
        "家庭人口在1人至3人之间：待确认，需补充信息",
        "就业状态=登记失业：待确认，信息已过期",
        "已登记残疾等级：不满足",
    ],
    "zh_Hant": [
        "年齡≥80歲：已滿足",
        "戶籍類型為本市城鎮戶籍或本市農村戶籍：已滿足",
        "是否退休=是：已滿足（政策要求相反）",
        "家庭人口在1人至3人之間：待確認，需補充資訊",
        "就業狀態=登記失業：待確認，資訊已過期",
        "已登記殘疾等級：不滿足",
    ],
    "en": [
        "Age ≥ 80 years old: met",
        "Household registration is Local urban registration or Local rural registration: met",
        "Is retired = yes: met (the policy requires the opposite)",
        "Household size from 1 people to 3 people: unknown, information needed",
        "Employment status = Registered unemployed: unknown, information out of date",
        "Disability level is on record: not met",
    ],
}


@pytest.mark.parametrize("locale", list(WORDS))
def test_each_clause_is_explained_in_the_readers_language(locale: str) -> None:
    rule = load(json.dumps(EXPLAINED), RESIDENT)
    with use(locale):
        verdict = evaluate(rule, FACTS, TODAY)
    assert verdict.answer == "not_eligible"
    assert [c.text for c in verdict.clauses] == WORDS[locale]
    labels = {"zh_Hans": "家庭人口", "zh_Hant": "家庭人口", "en": "Household size"}
    assert verdict.missing[0].label == labels[locale]


def test_enterprise_values_are_explained_with_their_units_and_codes() -> None:
    rule = load(
        json.dumps({"any": [
            {"field": "industry_code", "op": "=", "value": "C39"},
            {"field": "employee_count", "op": "<", "value": 1000},
            {"field": "years_since_founding", "op": ">=", "value": 3},
        ]}),
        ENTERPRISE,
    )  # fmt: skip
    with use("zh_Hans"):
        texts = [c.text for c in evaluate(rule, {}, TODAY).clauses]
    assert texts == [
        "所属行业（GB/T 4754）=C39及其下级类别：待确认，需补充信息",
        "参保职工人数<1,000人：待确认，需补充信息",
        "成立年限≥3年：待确认，需补充信息",
    ]
    with use("en"):
        assert evaluate(rule, {}, TODAY).clauses[1].text == (
            "Employees insured < 1,000 people: unknown, information needed"
        )


def test_texts_can_be_skipped_when_only_the_answer_is_needed() -> None:
    verdict = evaluate(load(json.dumps(ELDERLY), RESIDENT), {}, TODAY, texts=False)
    assert {c.text for c in verdict.clauses} == {""}
    assert [m.label for m in verdict.missing] == ["Age", "Household registration"]
