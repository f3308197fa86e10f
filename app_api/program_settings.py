"""Each mini-program's own settings, read from ``SUPERAPP_<SLUG>_<FIELD>``.

A program declares a msgspec Struct; its fields are read like the core ones (strings from the
environment, converted and validated), and in production its ``production_problems()``
method joins the core checks, so one refusal names everything that is wrong.
"""

from __future__ import annotations

import re
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
    names = {prefix(program) + name.upper() for name in _fields(program)}
    unknown = sorted(k for k in environ if k.startswith(prefix(program)) and k not in names)
    if unknown:  # a misspelt variable would otherwise leave its default in force, silently
        raise ProgramSettingsError(
            f"unknown setting {', '.join(unknown)} of mini-program {program.slug!r} "
            f"(it reads {', '.join(sorted(names)) or 'none'})"
        )
    if program.settings is None:
        return None
    raw: dict[str, str] = {}
    for name in _fields(program):
        value = environ.get(prefix(program) + name.upper())
        if value is not None:
            raw[name] = value
    try:
        return msgspec.convert(raw, program.settings, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the field as "$.renewal_days": name the variable a person sets.
        field = re.search(r"\$\.(\w+)", str(exc))
        variable = prefix(program) + (field[1].upper() if field else "*")
        raise ProgramSettingsError(
            f"invalid setting {variable} of mini-program {program.slug!r}: {exc}"
        ) from None


def _fields(program: MiniProgram) -> tuple[str, ...]:
    if program.settings is None:
        return ()
    return tuple(field.name for field in msgspec.structs.fields(program.settings))


def read_all(programs: Iterable[MiniProgram], environ: Mapping[str, str]) -> dict[str, Any]:
    """Every program's settings, by slug (programs without settings are left out)."""
    values = {p.slug: read(p, environ) for p in programs}
    return {slug: value for slug, value in values.items() if value is not None}


def production_problems(values: Mapping[str, Any]) -> list[str]:
    """What each program's settings say is wrong for production (its own check)."""
    wrong: list[str] = []
    for value in values.values():
        check = getattr(value, "production_problems", None)
        if check is not None:
            wrong.extend(check())
    return wrong
