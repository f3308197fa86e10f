"""Each mini-program's own settings, read from ``SUPERAPP_<SLUG>_<FIELD>``.

A program declares a msgspec Struct; its fields are read like the core ones (strings from the
environment, converted and validated), and in production its ``production_problems()``
method joins the core checks, so one refusal names everything that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from miniprograms.contract import MiniProgram


class ProgramSettingsError(ValueError):
    """A mini-program's setting is not valid; the message names the variable."""


def prefix(program: MiniProgram) -> str:
    return f"SUPERAPP_{program.slug.upper()}_"


def read(program: MiniProgram, environ: Mapping[str, str]) -> Any:
    """The program's settings Struct from ``environ`` (its defaults where unset), or None."""
    if program.settings is None:
        return None
    raw = {}
    for field in msgspec.structs.fields(program.settings):
        value = environ.get(prefix(program) + field.name.upper())
        if value is not None:
            raw[field.name] = value
    try:
        return msgspec.convert(raw, program.settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ProgramSettingsError(f"invalid setting of {program.slug}: {exc}") from None


def read_all(programs: Iterable[MiniProgram], environ: Mapping[str, str]) -> dict[str, Any]:
    """Every program's settings, by slug (programs without settings are left out)."""
    return {p.slug: read(p, environ) for p in programs if p.settings is not None}


def production_problems(values: Mapping[str, Any]) -> list[str]:
    """What each program's settings say is wrong for production (its own check)."""
    wrong: list[str] = []
    for value in values.values():
        check = getattr(value, "production_problems", None)
        if check is not None:
            wrong.extend(check())
    return wrong
