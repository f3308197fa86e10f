"""Checks of what the installed mini-programs declare, run before the app is built.

A mistake in a declaration (a problem code that overwrites a core one, a dependency that
shadows one app_api provides, a settings prefix that reads a core setting) would otherwise
show up as a wrong answer to a resident long after start-up; here it stops the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from miniprograms.common import SHARED_PROBLEMS
from miniprograms.contract import PROVIDED, MiniProgram, ProblemType

SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")


class DeclarationError(RuntimeError):
    """A mini-program's declaration cannot be mounted; the message names the program."""


def problem_table(
    core: Mapping[str, tuple[int, str, str]], programs: Iterable[MiniProgram]
) -> dict[str, ProblemType]:
    """Every problem code with its type: core, shared by mini-programs, then each program's.

    Codes are one namespace, the one clients switch on: a program may not redeclare a code
    someone else owns (it would silently change that code's status or words).
    """
    owners: dict[str, str] = {}
    table: dict[str, ProblemType] = {}

    def add(owner: str, code: str, spec: tuple[int, str, str]) -> None:
        if code in owners:
            raise DeclarationError(
                f"problem code {code!r} declared by {owner} is already declared by {owners[code]}"
            )
        problem = ProblemType(*spec)
        if not 400 <= problem.status <= 599 or not problem.title or not problem.detail:
            raise DeclarationError(f"problem code {code!r} of {owner}: {problem!r} is not valid")
        owners[code] = owner
        table[code] = problem

    for code, spec in core.items():
        add("app_api", code, spec)
    for code, spec in SHARED_PROBLEMS.items():
        add("miniprograms.common", code, spec)
    for program in programs:
        for code, spec in program.problems.items():
            add(f"mini-program {program.slug!r}", code, spec)
    return table


def check(
    programs: Sequence[MiniProgram],
    *,
    core_dependencies: Iterable[str],
    core_settings: Iterable[str],
    core_scopes: Iterable[str],
    core_problems: Mapping[str, tuple[int, str, str]],
) -> None:
    """Refuse declarations that cannot be mounted side by side; raises DeclarationError."""
    problem_table(core_problems, programs)
    taken_names = set(core_dependencies) | set(PROVIDED)
    settings = tuple(core_settings)
    scopes = dict.fromkeys(core_scopes, "app_api")
    slugs: set[str] = set()
    for program in programs:
        where = f"mini-program {program.slug!r}"
        if not SLUG.match(program.slug):
            raise DeclarationError(f"{where}: a slug is lower-case letters, digits and _")
        if program.slug in slugs:
            raise DeclarationError(f"{where} is installed twice")
        slugs.add(program.slug)
        for name in program.dependencies:
            if name in taken_names:
                raise DeclarationError(
                    f"{where}: dependency {name!r} would shadow the one app_api provides"
                )
        for name in settings:
            if name.startswith(program.slug + "_"):
                raise DeclarationError(
                    f"{where}: its settings prefix SUPERAPP_{program.slug.upper()}_ would "
                    f"read the core setting SUPERAPP_{name.upper()}"
                )
        for scope in program.scopes:
            if scope in scopes:
                raise DeclarationError(
                    f"{where}: delegation scope {scope!r} is already {scopes[scope]}'s"
                )
            scopes[scope] = where
        names = [job.__name__ for job in program.jobs]
        if len(set(names)) != len(names):
            raise DeclarationError(f"{where}: two jobs share a name in {names}")
        for cron in program.cron:
            if cron.job not in program.jobs:
                raise DeclarationError(
                    f"{where}: cron job {cron.job.__name__} is not among its jobs"
                )
    for slug in slugs:
        for other in slugs:
            if other.startswith(slug + "_"):
                raise DeclarationError(
                    f"mini-programs {slug!r} and {other!r}: SUPERAPP_{other.upper()}_* "
                    f"settings would be read as {slug!r}'s"
                )
