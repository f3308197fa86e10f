"""Eligibility: a small JSON rule language over declared profile fields, evaluated for one
person with reasons (:func:`evaluate`) and compiled to SQL for a whole population
(:func:`compile_sql`). Both give the same answer for the same facts on the same day, and so
does the answer-only fast path for many rules at once (:class:`Screen`, :func:`compile_answer`).
"""

from miniprograms.policy_push.eligibility.compile import SqlFilter, compile_sql
from miniprograms.policy_push.eligibility.evaluate import (
    Answer,
    Clause,
    Fact,
    Missing,
    Verdict,
    evaluate,
    facts_from_row,
)
from miniprograms.policy_push.eligibility.fast import Screen, compile_answer
from miniprograms.policy_push.eligibility.fields import (
    ENTERPRISE,
    REGISTRIES,
    RESIDENT,
    Field,
    Registry,
)
from miniprograms.policy_push.eligibility.rules import (
    All,
    AnyOf,
    Compare,
    Not,
    Rule,
    RuleError,
    decode,
    encode,
    from_builtins,
    load,
    to_builtins,
    validate,
)

__all__ = [
    "ENTERPRISE",
    "REGISTRIES",
    "RESIDENT",
    "All",
    "Answer",
    "AnyOf",
    "Clause",
    "Compare",
    "Fact",
    "Field",
    "Missing",
    "Not",
    "Registry",
    "Rule",
    "RuleError",
    "Screen",
    "SqlFilter",
    "Verdict",
    "compile_answer",
    "compile_sql",
    "decode",
    "encode",
    "evaluate",
    "facts_from_row",
    "from_builtins",
    "load",
    "to_builtins",
    "validate",
]
