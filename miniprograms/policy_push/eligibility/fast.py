"""The answer alone, fast: one person or enterprise against many validated rules.

:func:`evaluate` walks a rule and writes every clause with its reasons; matching a person
against every policy in force needs only the answers. A :class:`Screen` is built once from
the rules (and built again when policies change) as one generated Python function that:

* resolves each field it needs once per call: its value, or ``None`` when the fact is
  missing, null or older than the field's ``max_age`` (the cut-off day computed once per
  distinct ``max_age``), and for a derived field the whole years to the day, computed once;
* computes each distinct comparison once, however many rules share it;
* combines them per rule in Kleene logic on two bits, ``3`` met, ``1`` unknown, ``0`` not met,
  where ``&`` is "all" and ``|`` is "any" (bit 1: certainly met, bit 0: possibly met). "not"
  is pushed down to the comparisons first (De Morgan, as :mod:`.compile` does), and a negated
  comparison is its own variable (``0`` when it holds, ``3`` when not, ``1`` when unknown).

The answer equals ``evaluate(rule, facts, on).answer`` for every rule, facts and day
(tests/test_eligibility_fast.py draws them with hypothesis). Like ``evaluate``, which reports
every clause, the screen computes every comparison: a fact of the wrong type raises where
evaluating the rules one by one would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from miniprograms.policy_push.eligibility.evaluate import Answer, Fact
from miniprograms.policy_push.eligibility.fields import Field
from miniprograms.policy_push.eligibility.rules import All, AnyOf, Compare, Not, Rule

# Indexed by the two-bit outcome.
_ANSWERS: tuple[Answer | None, ...] = ("not_eligible", "need_more_information", None, "eligible")
_PYTHON_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# Far beyond the language's MAX_DEPTH (8): the generated expression nests as the rule does.
_MAX_NESTING = 50


class Screen:
    """Many validated rules, answered together for one person: ``Screen(rules).answers(facts,
    on)`` is ``[evaluate(rule, facts, on).answer for rule in rules]``, without the reasons.

    Build it once per set of rules (it generates and compiles code: about 0.1 s for a thousand
    rules) and again when they change; reuse it for every person and day.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._answers = _Generator().function(self.rules, single=False)

    def __len__(self) -> int:
        return len(self.rules)

    def answers(self, facts: Mapping[str, Fact], on: date) -> list[Answer]:
        """The answer of every rule, in the order given, for ``facts`` on the day ``on``."""
        return self._answers(facts, on)  # type: ignore[no-any-return]


def compile_answer(rule: Rule) -> Callable[[Mapping[str, Fact], date], Answer]:
    """One validated rule as a function ``(facts, on) -> answer``, equal to
    ``evaluate(rule, facts, on).answer``."""
    return _Generator().function((rule,), single=True)


class _Generator:
    """Writes the source of one function ``(facts, on)`` and compiles it.

    What goes into the source: identifiers made here (``v0``, ``a3``, ``c1``...), operators
    from fixed tables, and ``repr()`` of values whose exact type is ``int``, ``float`` (finite),
    ``bool`` or ``str`` — validate() has type-checked every rule value, and ``repr`` of those
    exact builtin types is always a Python literal that evaluates back to the same value
    (a ``str``, whatever it contains, comes out quoted and escaped; subclasses, which could
    override ``__repr__``, are refused). Everything else (dates, time spans, tuples holding
    dates) is never written out: it is a constant bound by name in the function's namespace.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []  # the per-call prelude: fields, then comparisons
        self.namespace: dict[str, Any] = {"_ANSWERS": _ANSWERS}
        self.constants: dict[tuple[type, str], str] = {}
        self.fields: dict[tuple[Any, ...], str] = {}  # resolution key -> value variable
        self.years: dict[str, str] = {}  # value variable -> whole-years variable
        self.oldest: dict[timedelta, str] = {}  # max_age -> cut-off variable
        self.atoms: dict[tuple[Any, ...], str] = {}  # (field, op, value, negated) -> variable
        self.prelude: list[str] = []  # cut-offs and the day's parts, before the fields

    def function(self, rules: tuple[Rule, ...], *, single: bool) -> Callable[..., Any]:
        exprs = [self.node(rule, False, 0) for rule in rules]
        if single:
            result = f"_ANSWERS[{exprs[0]}]"
        else:
            result = "[" + ", ".join(f"A[{e}]" for e in exprs) + "]"
        body = ["A = _ANSWERS", "get = facts.get", *self.prelude, *self.lines, f"return {result}"]
        source = "def answers(facts, on):\n" + "".join(f"    {line}\n" for line in body)
        code = compile(source, "<eligibility screen>", "exec")
        exec(code, self.namespace)  # the source is built only as the class docstring says
        return self.namespace["answers"]  # type: ignore[no-any-return]

    # --- rules: three-valued logic as & and | on two bits --------------------------------------

    def node(self, rule: Rule, negated: bool, depth: int) -> str:
        if depth > _MAX_NESTING:
            raise ValueError("rule nested too deep to compile")
        if isinstance(rule, Not):
            return self.node(rule.rule, not negated, depth + 1)
        if isinstance(rule, All | AnyOf):
            if not rule.rules:
                raise ValueError("an empty group is not a validated rule")
            conjunction = isinstance(rule, All) != negated  # not all(...) is any(not ...)
            parts = [self.node(r, negated, depth + 1) for r in rule.rules]
            if len(parts) == 1:
                return parts[0]
            return "(" + (" & " if conjunction else " | ").join(parts) + ")"
        if isinstance(rule, Compare):
            return self.atom(rule, negated)
        raise TypeError(f"not a rule: {type(rule).__name__}")

    # --- comparisons, each computed once per call ----------------------------------------------

    def atom(self, rule: Compare, negated: bool) -> str:
        field = rule.spec
        if not isinstance(field, Field):
            raise ValueError("compile_answer and Screen take rules returned by validate()")
        value = self.field(field)
        key = (self.field_key(field), field.kind, rule.op, _value_key(rule.value), negated)
        if key in self.atoms:
            return self.atoms[key]
        name = f"a{len(self.atoms)}"
        self.atoms[key] = name
        met, not_met = ("0", "3") if negated else ("3", "0")
        if rule.op == "is_set":  # never known: not met; known but stale: unknown
            fact = "f" + value[1:]  # field() names the fact f<n> and its value v<n>
            self.lines.append(
                f"{name} = {not_met} if {fact} is None or {fact}.value is None"
                f" else {met} if {value} is not None else 1"
            )
            return name
        have = self.years_of(value) if field.derived else value
        test = self.test(field, rule.op, have, rule.value)
        self.lines.append(f"{name} = 1 if {have} is None else {met} if {test} else {not_met}")
        return name

    def test(self, field: Field, op: str, have: str, want: Any) -> str:
        """A Python expression true exactly when evaluate's ``_holds`` is."""
        if field.kind == "code_prefix":  # a rule's code stands for every code under it
            if op == "in":
                return f"any(map({have}.startswith, {self.constant(want)}))"
            starts = f"{have}.startswith({self.constant(want)})"
            return starts if op == "=" else f"not {starts}"
        if op == "in":
            return f"{have} in {self.constant(want)}"
        if op == "between":
            low, high = want
            return f"{self.constant(low)} <= {have} <= {self.constant(high)}"
        return f"{have} {_PYTHON_OP[op]} {self.constant(want)}"

    # --- fields, each resolved once per call ---------------------------------------------------

    @staticmethod
    def field_key(field: Field) -> tuple[Any, ...]:
        # What resolving depends on; two registries may declare the same name differently.
        return (field.name, field.max_age, field.derived)

    def field(self, field: Field) -> str:
        """The variable holding the field's value this call, ``None`` when unknown."""
        key = self.field_key(field)
        if key in self.fields:
            return self.fields[key]
        name = f"v{len(self.fields)}"
        self.fields[key] = name
        fact = f"f{len(self.fields) - 1}"
        self.lines.append(f"{fact} = get({_literal(field.name)})")
        self.lines.append(f"{name} = None if {fact} is None else {fact}.value")
        if field.max_age is not None:  # stale: no as_of, or one older than the cut-off
            oldest = self.cutoff(field.max_age)
            self.lines.append(
                f"if {name} is not None and ({fact}.as_of is None or {fact}.as_of < {oldest}):"
            )
            self.lines.append(f"    {name} = None")
        return name

    def cutoff(self, max_age: timedelta) -> str:
        if max_age not in self.oldest:
            name = f"oldest{len(self.oldest)}"
            self.oldest[max_age] = name
            self.prelude.append(f"{name} = on - {self.constant(max_age)}")
        return self.oldest[max_age]

    def years_of(self, value: str) -> str:
        """Whole years from the date in ``value`` to ``on``, as years.whole_years counts."""
        if value not in self.years:
            name = f"y{value}"
            self.years[value] = name
            if "day = (on.month, on.day)" not in self.prelude:
                self.prelude.append("day = (on.month, on.day)")
            self.lines.append(
                f"{name} = None if {value} is None else "
                f"on.year - {value}.year - (day < ({value}.month, {value}.day))"
            )
        return self.years[value]

    # --- constants -------------------------------------------------------------------------------

    def constant(self, value: Any) -> str:
        """``value`` as a literal when that is safe (see the class docstring), else by name."""
        if _is_literal(value):
            return _literal(value)
        if type(value) is tuple and all(_is_literal(v) for v in value):
            return "(" + "".join(f"{_literal(v)}, " for v in value) + ")"
        if type(value) not in (date, timedelta, tuple):
            raise TypeError(f"not a validated rule value: {type(value).__name__}")
        key = (type(value), repr(value))
        if key not in self.constants:
            self.constants[key] = f"c{len(self.constants)}"
            self.namespace[self.constants[key]] = value
        return self.constants[key]


def _is_literal(value: Any) -> bool:
    return type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value))


def _literal(value: Any) -> str:
    # Exact builtin types only (checked by the caller or the registry): repr is a literal.
    assert _is_literal(value), value
    return repr(value)


def _value_key(value: Any) -> tuple[type, str]:
    """Equal only for values of the same types that compare the same (1, 1.0 and True differ)."""
    return (type(value), repr(value))
