"""The rule language refuses what it cannot use, naming the JSON path of the bad node."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    RESIDENT,
    All,
    Compare,
    Not,
    Registry,
    RuleError,
    decode,
    encode,
    load,
)
from miniprograms.policy_push.eligibility.fields import Field
from miniprograms.policy_push.eligibility.rules import MAX_BYTES, MAX_DEPTH, MAX_IN, validate

AGE_80 = {"field": "age", "op": ">=", "value": 80}
LOCAL = {"field": "hukou_type", "op": "in", "value": ["local_urban", "local_rural"]}


def nested(depth: int) -> dict[str, Any]:
    rule: dict[str, Any] = AGE_80
    for _ in range(depth - 1):
        rule = {"not": rule}
    return rule


REFUSED: list[tuple[str, Any, Registry, str, str]] = [
    # (situation, rule, registry, path, reason)
    ("not an object", [AGE_80], RESIDENT, "$", "bad_shape"),
    ("two shapes in one node", {"all": [AGE_80], "any": [AGE_80]}, RESIDENT, "$", "bad_shape"),
    ("a group that is no list", {"all": AGE_80}, RESIDENT, "$.all", "bad_shape"),
    ("an empty group", {"any": []}, RESIDENT, "$.any", "empty_group"),
    ("a stray key", {**AGE_80, "unit": "years"}, RESIDENT, "$", "bad_shape"),
    ("a field that is not text", {"field": 3, "op": "=", "value": 1}, RESIDENT, "$.field",
     "bad_shape"),
    ("an operator we do not have", {"all": [AGE_80, {"field": "age", "op": "=>", "value": 1}]},
     RESIDENT, "$.all[1].op", "bad_op"),
    ("an operator that is a list", {"field": "age", "op": [">="], "value": 1}, RESIDENT,
     "$.op", "bad_op"),
    ("no value", {"not": {"field": "age", "op": ">="}}, RESIDENT, "$.not", "missing_value"),
    ("a null value", {"field": "age", "op": ">=", "value": None}, RESIDENT, "$.value",
     "missing_value"),
    ("is_set with a value", {"field": "age", "op": "is_set", "value": 1}, RESIDENT, "$.value",
     "unexpected_value"),
    ("an unknown field", {"all": [AGE_80, {"field": "income", "op": ">", "value": 1}]},
     RESIDENT, "$.all[1].field", "unknown_field"),
    ("an enterprise field in a resident rule", {"field": "size_class", "op": "=",
     "value": "small"}, RESIDENT, "$.field", "unknown_field"),
    ("an age as text", {"all": [LOCAL, {"field": "age", "op": ">=", "value": "80"}]},
     RESIDENT, "$.all[1].value", "wrong_type"),
    ("an age with decimals", {"field": "age", "op": ">=", "value": 80.0}, RESIDENT, "$.value",
     "wrong_type"),
    ("true is not a number", {"field": "household_size", "op": "=", "value": True}, RESIDENT,
     "$.value", "wrong_type"),
    ("a number is not a yes/no", {"field": "is_retired", "op": "=", "value": 1}, RESIDENT,
     "$.value", "wrong_type"),
    ("ordering a yes/no", {"field": "is_retired", "op": ">", "value": True}, RESIDENT, "$.op",
     "bad_op"),
    ("ordering codes", {"field": "hukou_type", "op": "<", "value": "non_local"}, RESIDENT,
     "$.op", "bad_op"),
    ("between for an enum", {"field": "size_class", "op": "between", "value": ["micro",
     "small"]}, ENTERPRISE, "$.op", "bad_op"),
    ("a code that is not one", {"any": [LOCAL, {"field": "hukou_type", "op": "in",
     "value": ["local_urban", "rural"]}]}, RESIDENT, "$.any[1].value[1]", "unknown_code"),
    ("a district of five digits", {"field": "district", "op": "=", "value": "32130"},
     RESIDENT, "$.value", "bad_format"),
    ("an industry in lower case", {"field": "industry_code", "op": "=", "value": "c39"},
     ENTERPRISE, "$.value", "bad_format"),
    ("an industry with a wildcard", {"field": "industry_code", "op": "in", "value": ["C%"]},
     ENTERPRISE, "$.value[0]", "bad_format"),
    ("an age no one reaches", {"field": "age", "op": ">=", "value": 151}, RESIDENT, "$.value",
     "out_of_range"),
    ("a negative household", {"field": "household_size", "op": "<", "value": -1}, RESIDENT,
     "$.value", "out_of_range"),
    ("disability level five", {"field": "disability_level", "op": "=", "value": 5}, RESIDENT,
     "$.value", "out_of_range"),
    ("an empty in", {"all": [AGE_80, {"not": {"field": "district", "op": "in", "value": []}}]},
     RESIDENT, "$.all[1].not.value", "empty_in"),
    ("in without a list", {"field": "district", "op": "in", "value": "321302"}, RESIDENT,
     "$.value", "wrong_type"),
    ("between of one value", {"field": "age", "op": "between", "value": [60]}, RESIDENT,
     "$.value", "wrong_type"),
    ("between upside down", {"all": [AGE_80, {"field": "age", "op": "between",
     "value": [79, 60]}]}, RESIDENT, "$.all[1].value", "impossible_range"),
    ("too many values", {"field": "employee_count", "op": "in",
     "value": list(range(MAX_IN + 1))}, ENTERPRISE, "$.value", "too_large"),
    ("too deep", nested(MAX_DEPTH + 1), RESIDENT, "$" + ".not" * MAX_DEPTH, "too_deep"),
    ("too many nodes", {"any": [AGE_80] * 100}, RESIDENT, "$.any[99]", "too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "registry", "path", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_bad_rule_is_refused_with_the_path_of_its_bad_node(
    rule: Any, registry: Registry, path: str, reason: str
) -> None:
    with pytest.raises(RuleError) as caught:
        load(json.dumps(rule), registry)
    assert (caught.value.path, caught.value.reason) == (path, reason)
    assert caught.value.as_error() == {"path": path, "reason": reason}


def test_text_that_is_not_json_or_too_long_is_refused_before_it_is_read() -> None:
    with pytest.raises(RuleError) as caught:
        decode(b'{"all": [')
    assert (caught.value.path, caught.value.reason) == ("$", "bad_json")
    with pytest.raises(RuleError) as caught:
        decode(b" " * (MAX_BYTES + 1))
    assert caught.value.reason == "too_large"


def test_the_deepest_allowed_rule_is_accepted() -> None:
    load(json.dumps(nested(MAX_DEPTH)), RESIDENT)


def test_a_valid_rule_comes_back_typed_bound_and_encodes_to_what_was_sent() -> None:
    raw = {
        "all": [
            AGE_80,
            LOCAL,
            {"not": {"field": "is_retired", "op": "=", "value": False}},
            {"field": "household_size", "op": "between", "value": [1, 3]},
            {"field": "district", "op": "is_set"},
        ]
    }
    rule = load(json.dumps(raw), RESIDENT)
    assert isinstance(rule, All)
    age, local, retired, size, district = rule.rules
    assert isinstance(age, Compare) and age.value == 80 and age.spec is RESIDENT["age"]
    assert isinstance(local, Compare) and local.value == ("local_urban", "local_rural")
    assert isinstance(retired, Not) and isinstance(size, Compare) and size.value == (1, 3)
    assert isinstance(district, Compare) and district.value is None
    assert json.loads(encode(rule)) == raw


def test_a_date_field_takes_iso_days_only() -> None:
    registry = Registry(
        "test", [Field(name="moved_in", kind="date", label="Moved in", source="population",
                       column="moved_in")]
    )  # fmt: skip
    rule = load('{"field": "moved_in", "op": "<", "value": "2020-02-29"}', registry)
    assert isinstance(rule, Compare) and rule.value == date(2020, 2, 29)
    assert validate(rule, registry) == rule  # validating twice changes nothing
    for bad, reason in (
        ("2021-02-29", "bad_format"),
        ("20200229", "bad_format"),
        (3, "wrong_type"),
    ):
        with pytest.raises(RuleError) as caught:
            load(json.dumps({"field": "moved_in", "op": "=", "value": bad}), registry)
        assert (caught.value.path, caught.value.reason) == ("$.value", reason)


def test_a_registry_refuses_columns_that_are_not_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="identifier"):
        Field(name="x", kind="bool", label="X", source="population", column='x"; DROP TABLE y')


KEYS = st.sampled_from(["all", "any", "not", "field", "op", "value", "x"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["age", "district", "hukou_type", "in", "between", ">=", "is_set", "321302"]),
    st.text(max_size=5),
)
JSONISH = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4)
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=JSONISH)
def test_any_json_is_either_a_rule_or_a_rule_error(data: Any) -> None:
    """Operator input of any shape: never an exception other than RuleError, and what is
    accepted encodes back to the same rule."""
    try:
        rule = load(json.dumps(data), RESIDENT)
    except RuleError as error:
        assert error.path.startswith("$")
        return
    assert load(encode(rule), RESIDENT) == rule
