"""The JSON rule language, its decoding and its validation against a field registry.

A rule is one of::

    {"all": [rule, ...]}    {"any": [rule, ...]}    {"not": rule}
    {"field": "age", "op": ">=", "value": 80}       {"field": "district", "op": "is_set"}

Decoding is msgspec (JSON to builtins) followed by a hand-written walk into frozen Structs,
not a msgspec tagged union: the wire shape has no tag field (the key *is* the tag), and the
walk names every bad node by its JSON path with a reason code an operator can act on.
A rule is operator input, so depth, node count, list length and bytes are bounded before
anything recursive looks at it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, TypeAlias, get_args

import msgspec

from miniprograms.policy_push.eligibility.fields import Field, Registry

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "between", "is_set"]
OPS: frozenset[str] = frozenset(get_args(Op))
ORDERED = frozenset({"<", "<=", ">", ">="})
_OPS_OF_KIND = {
    "int": OPS,
    "number": OPS,
    "date": OPS,
    "enum": frozenset({"=", "!=", "in", "is_set"}),
    "string": frozenset({"=", "!=", "in", "is_set"}),
    "code_prefix": frozenset({"=", "!=", "in", "is_set"}),
    "bool": frozenset({"=", "!=", "is_set"}),
}

MAX_BYTES = 16_384
MAX_DEPTH = 8
MAX_NODES = 100
MAX_IN = 100

Reason = Literal[
    "bad_json",  # not JSON at all
    "bad_shape",  # not one of the four node shapes (missing, extra or mistyped keys)
    "empty_group",  # "all" or "any" with no rules in it
    "too_deep",
    "too_large",  # too many bytes, nodes or "in" values
    "unknown_field",
    "bad_op",  # no such operator, or not one for this field's type
    "missing_value",
    "unexpected_value",  # is_set takes no value
    "wrong_type",  # the value is not of the field's type (or not a list for in/between)
    "unknown_code",  # an enum value that is not one of the field's codes
    "bad_format",  # a code or date that does not look like one
    # a fact people declare themselves, in a rule that pays without an application
    "self_declared_in_auto_grant",
    "out_of_range",  # outside the field's bounds
    "empty_in",
    "impossible_range",  # between [lo, hi] with lo > hi
]


class RuleError(ValueError):
    """A rule that cannot be used, with the JSON path of the node at fault."""

    def __init__(self, path: str, reason: Reason) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def as_error(self) -> dict[str, str]:
        """The entry a 422 problem lists under ``errors``."""
        return {"path": self.path, "reason": self.reason}


class All(msgspec.Struct, frozen=True):
    rules: tuple[Rule, ...]


class AnyOf(msgspec.Struct, frozen=True):
    rules: tuple[Rule, ...]


class Not(msgspec.Struct, frozen=True):
    rule: Rule


class Compare(msgspec.Struct, frozen=True):
    """``field op value``; after :func:`validate` the value has the field's Python type
    (dates as ``date``, ``in`` as a tuple, ``between`` as a ``(lo, hi)`` tuple)."""

    field: str
    op: Op
    value: Any = None
    # The registry's declaration of ``field``, attached by validate: evaluating and compiling
    # need its type, column and staleness, and a rule bound once cannot meet another registry.
    spec: Field | None = None


Rule: TypeAlias = All | AnyOf | Not | Compare


def decode(raw: bytes | str) -> Rule:
    """JSON text to a rule of the right shape (fields and values are not checked yet)."""
    if len(raw) > MAX_BYTES:
        raise RuleError("$", "too_large")
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise RuleError("$", "bad_json") from None
    return from_builtins(data)


def from_builtins(data: object) -> Rule:
    """Decoded JSON (dicts and lists) to a rule of the right shape."""
    count = [0]
    return _shape(data, "$", 1, count)


def _shape(data: object, path: str, depth: int, count: list[int]) -> Rule:
    if depth > MAX_DEPTH:
        raise RuleError(path, "too_deep")
    count[0] += 1
    if count[0] > MAX_NODES:
        raise RuleError(path, "too_large")
    if not isinstance(data, Mapping):
        raise RuleError(path, "bad_shape")
    keys = set(data)
    if keys in ({"all"}, {"any"}):
        (key,) = keys
        items = data[key]
        if not isinstance(items, list):
            raise RuleError(f"{path}.{key}", "bad_shape")
        if not items:
            raise RuleError(f"{path}.{key}", "empty_group")
        children = tuple(
            _shape(item, f"{path}.{key}[{i}]", depth + 1, count) for i, item in enumerate(items)
        )
        return All(children) if key == "all" else AnyOf(children)
    if keys == {"not"}:
        return Not(_shape(data["not"], f"{path}.not", depth + 1, count))
    if keys in ({"field", "op"}, {"field", "op", "value"}):
        if not isinstance(data["field"], str):
            raise RuleError(f"{path}.field", "bad_shape")
        op = data["op"]
        if not isinstance(op, str) or op not in OPS:
            raise RuleError(f"{path}.op", "bad_op")
        if op == "is_set" and "value" in keys:
            raise RuleError(f"{path}.value", "unexpected_value")
        if op != "is_set" and data.get("value") is None:
            raise RuleError(path if "value" not in keys else f"{path}.value", "missing_value")
        return Compare(data["field"], op, data.get("value"))
    raise RuleError(path, "bad_shape")


def validate(rule: Rule, registry: Registry) -> Rule:
    """Check every comparison against ``registry``; returns the rule with typed values.

    :func:`evaluate` and :func:`compile_sql` take only rules that came out of here (each
    comparison then carries its field's declaration).
    """
    return _validate(rule, registry, "$")


def load(raw: bytes | str, registry: Registry) -> Rule:
    """Decode and validate in one step (what saving a policy does)."""
    return validate(decode(raw), registry)


def _validate(rule: Rule, registry: Registry, path: str) -> Rule:
    if isinstance(rule, All | AnyOf):
        key = "all" if isinstance(rule, All) else "any"
        return type(rule)(
            tuple(_validate(r, registry, f"{path}.{key}[{i}]") for i, r in enumerate(rule.rules))
        )
    if isinstance(rule, Not):
        return Not(_validate(rule.rule, registry, f"{path}.not"))
    field = registry.get(rule.field)
    if field is None:
        raise RuleError(f"{path}.field", "unknown_field")
    if rule.op not in _OPS_OF_KIND[field.kind]:
        raise RuleError(f"{path}.op", "bad_op")
    where = f"{path}.value"
    if rule.op == "is_set":
        return Compare(rule.field, rule.op, None, field)
    if rule.op in ("in", "between"):
        if not isinstance(rule.value, list | tuple):
            raise RuleError(where, "wrong_type")
        values = tuple(_scalar(field, v, f"{where}[{i}]") for i, v in enumerate(rule.value))
        if rule.op == "in":
            if not values:
                raise RuleError(where, "empty_in")
            if len(values) > MAX_IN:
                raise RuleError(where, "too_large")
        else:
            if len(values) != 2:
                raise RuleError(where, "wrong_type")
            if values[0] > values[1]:
                raise RuleError(where, "impossible_range")
        return Compare(rule.field, rule.op, values, field)
    return Compare(rule.field, rule.op, _scalar(field, rule.value, where), field)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _scalar(field: Field, value: object, path: str) -> object:
    """One value of the field's type, or a RuleError saying why not."""
    kind = field.kind
    if kind == "bool":
        if type(value) is not bool:
            raise RuleError(path, "wrong_type")
        return value
    if kind in ("int", "number"):
        # bool is an int to Python, never to a rule; 80.0 is not an age.
        allowed = (int,) if kind == "int" else (int, float)
        if type(value) not in allowed or (type(value) is float and not math.isfinite(value)):
            raise RuleError(path, "wrong_type")
        assert field.bounds is not None
        if not field.bounds[0] <= value <= field.bounds[1]:  # type: ignore[operator]
            raise RuleError(path, "out_of_range")
        return value
    if kind == "date":
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise RuleError(path, "wrong_type")
        try:
            if not _ISO_DAY.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise RuleError(path, "bad_format") from None
    if not isinstance(value, str):
        raise RuleError(path, "wrong_type")
    if kind == "enum":
        assert field.codes is not None
        if value not in field.codes:
            raise RuleError(path, "unknown_code")
    elif field.pattern and not re.fullmatch(field.pattern, value):
        raise RuleError(path, "bad_format")
    return value


def to_builtins(rule: Rule) -> dict[str, Any]:
    """The rule as JSON-ready builtins, in the wire shape :func:`decode` reads."""
    if isinstance(rule, All):
        return {"all": [to_builtins(r) for r in rule.rules]}
    if isinstance(rule, AnyOf):
        return {"any": [to_builtins(r) for r in rule.rules]}
    if isinstance(rule, Not):
        return {"not": to_builtins(rule.rule)}
    if rule.op == "is_set":
        return {"field": rule.field, "op": rule.op}
    return {"field": rule.field, "op": rule.op, "value": msgspec.to_builtins(rule.value)}


def encode(rule: Rule) -> bytes:
    return msgspec.json.encode(to_builtins(rule))
