"""Eligibility written as situations, OpenFisca style: each file under tests/situations/ names
one demo policy and lists people or enterprises on a day with the answer expected, clause by
clause (and what must be asked for when the answer is "need more information"). The rules
come from the demo policies themselves, so these cases are what residents would be told."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from locales import use
from miniprograms.policy_push.demo import POLICIES, RULES
from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    RESIDENT,
    Fact,
    compile_answer,
    evaluate,
    from_builtins,
    validate,
)

SITUATIONS = sorted((Path(__file__).parent / "situations").glob("*.yaml"))
AUDIENCE = {entry[2]: entry[0] for entry in POLICIES}


def _cases() -> list[Any]:
    found = []
    for path in SITUATIONS:
        written = yaml.safe_load(path.read_text())
        for case in written["cases"]:
            found.append(pytest.param(written["policy"], case, id=f"{path.stem}: {case['name']}"))
    return found


def test_every_demo_rule_has_its_situations() -> None:
    covered = {yaml.safe_load(path.read_text())["policy"] for path in SITUATIONS}
    assert covered == set(RULES)


@pytest.mark.parametrize(("policy", "case"), _cases())
def test_situation(policy: str, case: dict[str, Any]) -> None:
    registry = RESIDENT if AUDIENCE[policy] == "resident" else ENTERPRISE
    rule = validate(from_builtins(RULES[policy][0]), registry)
    facts = {
        name: Fact(given["value"], given["source"], given.get("as_of"))
        for name, given in (case["facts"] or {}).items()
    }
    on: date = case["day"]  # not "on": YAML 1.1 reads that key as true
    with use("zh_Hans"):
        verdict = evaluate(rule, facts, on)
    assert verdict.answer == case["answer"]
    expected = case["clauses"]
    assert [(c.field, c.outcome) for c in verdict.clauses] == [
        (e["field"], e["outcome"]) for e in expected
    ]
    for clause, wanted in zip(verdict.clauses, expected, strict=True):
        if "text" in wanted:
            assert clause.text == wanted["text"]
    assert [m.field for m in verdict.missing] == case.get("missing", [])
    assert compile_answer(rule)(facts, on) == case["answer"]  # the answer-only fast path
