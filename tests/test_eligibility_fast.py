"""The answer-only fast path (Screen, compile_answer) answers exactly as evaluate() does:
hypothesis draws a day, several rules (and their negations) and a few people near every
boundary with the strategies of test_eligibility_agreement, plus null values; every comparison
of both registries, negated or not, meets the boundary rows; and the situations of
test_eligibility_evaluate are answered the same, by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    RESIDENT,
    Compare,
    Fact,
    Registry,
    RuleError,
    Screen,
    compile_answer,
    evaluate,
    facts_from_row,
    from_builtins,
    load,
    validate,
)
from tests.test_eligibility_agreement import (
    SPECIAL_DAYS,
    boundary_rows,
    every_comparison,
    profiles,
    rules,
)
from tests.test_eligibility_evaluate import FRESH, SITUATIONS, TODAY, pop

FAST = settings(max_examples=300, derandomize=True, deadline=None)


@st.composite
def people(draw: st.DrawFn, registry: Registry, on: date) -> dict[str, Fact]:
    """A profile row as facts, where a missing fact is sometimes a Fact whose value is None
    (with or without an as_of, fresh or not): the evaluator calls that missing too."""
    facts = facts_from_row(registry, draw(profiles(registry, on)))
    for field in registry:
        if field.name not in facts and draw(st.booleans()):
            as_of = draw(st.sampled_from([None, on, on - timedelta(days=400)]))
            facts[field.name] = Fact(None, field.source, as_of)
    return facts


@st.composite
def screens(draw: st.DrawFn) -> tuple[list[Any], date, list[dict[str, Fact]]]:
    registry = draw(st.sampled_from([RESIDENT, ENTERPRISE]))
    on = draw(
        st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    )
    validated = []
    for raw in draw(st.lists(rules(registry), min_size=1, max_size=6)):
        for candidate in (raw, {"not": raw}):
            try:
                validated.append(validate(from_builtins(candidate), registry))
            except RuleError as error:  # only depth can refuse what the strategy draws
                assert error.reason == "too_deep"
    persons = draw(st.lists(people(registry, on), min_size=1, max_size=4))
    return validated, on, persons


@FAST
@given(drawn=screens())
def test_the_screen_and_each_compiled_rule_answer_as_evaluate_does(
    drawn: tuple[list[Any], date, list[dict[str, Fact]]],
) -> None:
    validated, on, persons = drawn
    screen = Screen(validated)
    singles = [compile_answer(rule) for rule in validated]
    for facts in persons:
        expected = [evaluate(rule, facts, on, texts=False).answer for rule in validated]
        assert screen.answers(facts, on) == expected
        assert [answer(facts, on) for answer in singles] == expected
    # Built once, asked on other days: the cut-offs and ages move with the day.
    for day in (on - timedelta(days=1), on + timedelta(days=1), on + timedelta(days=366)):
        for facts in persons:
            expected = [evaluate(rule, facts, day, texts=False).answer for rule in validated]
            assert screen.answers(facts, day) == expected


@pytest.mark.parametrize("on", [*SPECIAL_DAYS, date(2026, 11, 28)], ids=str)
@pytest.mark.parametrize("registry", [RESIDENT, ENTERPRISE], ids=lambda r: r.audience)
def test_every_comparison_and_its_negation_on_boundary_rows(registry: Registry, on: date) -> None:
    atoms = [
        validate(from_builtins(candidate), registry)
        for atom in every_comparison(registry)
        for candidate in (atom, {"not": atom})
    ]
    screen = Screen(atoms)
    for row in boundary_rows(registry, on):
        facts = facts_from_row(registry, row)
        expected = [evaluate(rule, facts, on, texts=False).answer for rule in atoms]
        assert screen.answers(facts, on) == expected, row


@pytest.mark.parametrize(
    ("registry", "rule", "facts", "on", "answer"),
    [case[1:6] for case in SITUATIONS],
    ids=[case[0] for case in SITUATIONS],
)
def test_each_hand_written_situation(
    registry: Registry, rule: Any, facts: dict[str, Fact], on: date, answer: str
) -> None:
    compiled = compile_answer(load(json.dumps(rule), registry))
    assert compiled(facts, on) == answer


AGE_18 = {"field": "age", "op": ">=", "value": 18}
HOUSEHOLD = {"field": "household_size", "op": "between", "value": [2, 3]}
EDGES = [
    # (rule, facts, day, answer)
    (AGE_18, {"age": pop(date(2008, 2, 29))}, date(2026, 2, 28), "not_eligible"),
    (AGE_18, {"age": pop(date(2008, 2, 29))}, date(2026, 3, 1), "eligible"),
    ({"field": "age", "op": "=", "value": 20}, {"age": pop(date(2008, 2, 29))},
     date(2028, 2, 29), "eligible"),
    ({"not": AGE_18}, {"age": pop(date(2008, 11, 28))}, TODAY, "not_eligible"),
    ({"not": AGE_18}, {"age": pop(date(2008, 11, 29))}, TODAY, "eligible"),
    (HOUSEHOLD, {"household_size": pop(3, TODAY - timedelta(days=366))}, TODAY, "eligible"),
    (HOUSEHOLD, {"household_size": pop(3, TODAY - timedelta(days=367))}, TODAY,
     "need_more_information"),
    ({"not": HOUSEHOLD}, {"household_size": pop(None)}, TODAY, "need_more_information"),
    ({"field": "household_size", "op": "is_set"}, {"household_size": pop(None)}, TODAY,
     "not_eligible"),
    ({"not": {"field": "household_size", "op": "is_set"}},
     {"household_size": pop(2, as_of=None)}, TODAY, "need_more_information"),
    ({"not": {"field": "household_size", "op": "is_set"}},
     {"household_size": pop(None)}, TODAY, "eligible"),
    ({"any": [{"not": AGE_18}, HOUSEHOLD]}, {"household_size": pop(1)}, TODAY,
     "need_more_information"),
    ({"not": {"all": [AGE_18, HOUSEHOLD]}}, {"household_size": pop(1)}, TODAY, "eligible"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "facts", "on", "answer"), EDGES)
def test_boundaries_by_hand(rule: Any, facts: dict[str, Fact], on: date, answer: str) -> None:
    validated = load(json.dumps(rule), RESIDENT)
    assert evaluate(validated, facts, on).answer == answer
    assert compile_answer(validated)(facts, on) == answer
    assert Screen([validated, validated]).answers(facts, on) == [answer, answer]


def test_rules_of_both_registries_in_one_screen_keep_their_own_fields() -> None:
    # "district" is declared by both; each rule resolves it with its own declaration.
    rules = [
        load(json.dumps({"field": "district", "op": "=", "value": "321302"}), registry)
        for registry in (RESIDENT, ENTERPRISE)
    ]
    rules.append(
        load(json.dumps({"field": "industry_code", "op": "=", "value": "C39"}), ENTERPRISE)
    )
    facts = {"district": pop("321302"), "industry_code": Fact("C3911", "enterprise", FRESH)}
    expected = [evaluate(rule, facts, TODAY, texts=False).answer for rule in rules]
    assert Screen(rules).answers(facts, TODAY) == expected == ["eligible"] * 3
    assert Screen([]).answers(facts, TODAY) == []


def test_only_validated_rules_compile_and_values_are_never_pasted_as_code() -> None:
    with pytest.raises(ValueError, match="validate"):
        compile_answer(Compare("district", "=", "321302"))

    class Sneaky(str):
        def __repr__(self) -> str:
            return "__import__('os').getcwd()"

    with pytest.raises(TypeError):
        compile_answer(Compare("district", "=", Sneaky("321302"), RESIDENT["district"]))
    # A string of any content is quoted and escaped: it stays data.
    odd = "321302'); __import__('os').getcwd(); ('\n"
    rule = Compare("district", "in", (odd, "321302"), RESIDENT["district"])
    for value, answer in ((odd, "eligible"), ("321302", "eligible"), ("321311", "not_eligible")):
        facts = {"district": pop(value)}
        assert compile_answer(rule)(facts, TODAY) == evaluate(rule, facts, TODAY).answer == answer
