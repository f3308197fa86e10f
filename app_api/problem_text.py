"""Filling a problem's title and detail with the values the raising code gave."""

from __future__ import annotations

import re
from collections.abc import Mapping

import structlog

log = structlog.get_logger("superapp.errors")


# Stands where a title or detail asks for a value the raising code did not give: the
# sentence stays readable ("Apply at …."), no brace or name of ours reaches the resident,
# and the log says which value is missing.
OMITTED = "…"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class _Params(dict[str, object]):
    """A problem's params for ``str.format_map``, noting the names nobody gave."""

    def __init__(self, params: Mapping[str, object]) -> None:
        super().__init__(params)
        self.missing: set[str] = set()

    def __missing__(self, key: str) -> str:
        self.missing.add(key)
        return OMITTED


def fill(code: str, text: str, params: Mapping[str, object]) -> str:
    """``text`` with its ``{placeholders}`` filled from ``params``.

    Never the raw braces and never an exception (which would turn the problem into a 500
    from the error handler itself): a placeholder without a usable value reads as
    :data:`OMITTED`, and ``problem_params_missing`` is logged as an error to fix.
    """
    values = _Params(params)
    try:
        filled = text.format_map(values)
    except (IndexError, KeyError, ValueError, AttributeError, TypeError) as exc:
        # A positional field, a format spec or attribute the given value cannot take.
        names = sorted({match[1:-1] for match in _PLACEHOLDER.findall(text)})
        log.error("problem_params_missing", code=code, missing=names, error=str(exc))
        return _PLACEHOLDER.sub(OMITTED, text)
    if values.missing:
        log.error("problem_params_missing", code=code, missing=sorted(values.missing))
    return filled
