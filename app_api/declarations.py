"""Checks of what the installed mini-programs declare, run before the app is built.

A mistake in a declaration (a problem code that overwrites a core one, a dependency that
shadows one app_api provides, a settings prefix that reads a core setting) would otherwise
show up as a wrong answer to a resident long after start-up; here it stops the start.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from croniter import croniter
from litestar import Router

from miniprograms.common import SHARED_PROBLEMS
from miniprograms.contract import PROVIDED, MiniProgram, ProblemType

SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")  # also the shape of problem codes and upstream names
# Tortoise app labels app_api uses itself: a program's models are registered under its slug.
RESERVED_SLUGS = frozenset({"core", "notifications", "models", "app_api", "tortoise"})


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
        if not SLUG.match(code):
            raise DeclarationError(f"problem code {code!r} of {owner}: use snake_case")
        try:
            problem = ProblemType(*spec)
        except TypeError:
            problem = None
        if (
            problem is None
            or not isinstance(problem.status, int)
            or not 400 <= problem.status <= 599
            or not (isinstance(problem.title, str) and isinstance(problem.detail, str))
            or not problem.title
            or not problem.detail
        ):
            raise DeclarationError(
                f"problem code {code!r} of {owner}: {spec!r} is not "
                "ProblemType(status 400-599, title msgid, detail msgid)"
            )
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
        if program.slug in RESERVED_SLUGS:
            raise DeclarationError(f"{where}: the slug {program.slug!r} is app_api's own")
        if program.slug in slugs:
            raise DeclarationError(f"{where} is installed twice")
        slugs.add(program.slug)
        _check_callables(program, where)
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
            if not croniter.is_valid(cron.cron):
                raise DeclarationError(
                    f"{where}: {cron.cron!r} (for {cron.job.__name__}) is no crontab schedule"
                )
        _check_settings(program, where)
    for slug in slugs:
        for other in slugs:
            if other.startswith(slug + "_"):
                raise DeclarationError(
                    f"mini-programs {slug!r} and {other!r}: SUPERAPP_{other.upper()}_* "
                    f"settings would be read as {slug!r}'s"
                )


def _check_callables(program: MiniProgram, where: str) -> None:
    """The router is a factory; cards, jobs and hooks are coroutine functions."""
    router = program.router
    if not callable(router) or inspect.isclass(router) or isinstance(router, Router):
        raise DeclarationError(f"{where}: router= takes a function returning a Router")
    named: dict[str, Callable[..., Any] | None] = {
        "card": program.card,
        "on_startup": program.on_startup,
        "on_shutdown": program.on_shutdown,
        "demo": program.demo,
        **{f"job {job.__name__}": job for job in program.jobs},
    }
    for what, function in named.items():
        if function is not None and not inspect.iscoroutinefunction(function):
            raise DeclarationError(f"{where}: {what} must be an async function")


def _check_settings(program: MiniProgram, where: str) -> None:
    """Settings hold values: a method other than ``production_problems`` is a misspelling
    of it, or logic that belongs in the program's service."""
    if program.settings is None:
        return
    own = {
        name
        for name, value in vars(program.settings).items()
        if callable(value) and not name.startswith("_")
    }
    stray = sorted(own - {"production_problems"})
    if stray:
        raise DeclarationError(
            f"{where}: its settings Struct may define only production_problems(), not {stray}"
        )


def check_upstreams(owned: Sequence[tuple[str, Any]]) -> None:
    """Upstream names are snake_case and unique, ``-`` and ``_`` being one (the sandbox
    serves ``city_parking`` under ``/gov/v1/city-parking``); ``owned`` pairs each with who
    brings it."""
    owners: dict[str, str] = {}
    for owner, spec in owned:
        if not SLUG.match(spec.name):
            raise DeclarationError(f"{owner}: upstream name {spec.name!r} is not snake_case")
        key = spec.name.replace("-", "_")
        if key in owners:
            raise DeclarationError(
                f"the provincial upstream {spec.name!r} is brought twice: "
                f"by {owners[key]} and by {owner}"
            )
        owners[key] = owner
