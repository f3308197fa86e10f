"""Mounting the installed mini-programs: their declarations checked, their routers given
their own dependencies and their ``runtime``, each under ``/api/v1``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.di import Provide

from app_api import declarations
from app_api.auth.guards import services_of
from app_api.delegation.scopes import CORE_SCOPES
from app_api.deps import DEPENDENCIES
from app_api.errors import PROBLEMS
from app_api.settings import Settings
from locales import add_catalogs
from miniprograms.contract import MiniProgram, Runtime

# Names Litestar itself gives handlers; a dependency of that name would never be called.
RESERVED = ("request", "socket", "state", "scope", "headers", "cookies", "query", "body", "data")


def prepare(programs: Sequence[MiniProgram]) -> None:
    """Refuse to start with declarations that cannot be mounted side by side, and add the
    catalogs programs bring of their own."""
    declarations.check(
        programs,
        core_dependencies=(*DEPENDENCIES, *RESERVED),
        core_settings=Settings.__struct_fields__,
        core_scopes=CORE_SCOPES,
        core_problems=PROBLEMS,
    )
    for program in programs:
        if program.catalogs:
            add_catalogs(Path(program.catalogs))


def _provide(function: Callable[..., Any]) -> Provide:
    if inspect.iscoroutinefunction(function):
        return Provide(function)
    return Provide(function, sync_to_thread=False)  # providers are quick: no thread hop


def _runtime_of(slug: str) -> Callable[[Request], Any]:
    async def provide_runtime(request: Request) -> Runtime:
        return services_of(request).runtimes[slug]

    return provide_runtime


def router(program: MiniProgram) -> Router:
    """The program's router under ``/api/v1`` with its dependencies and its ``runtime``."""
    dependencies = {name: _provide(fn) for name, fn in program.dependencies.items()}
    dependencies["runtime"] = Provide(_runtime_of(program.slug))
    return Router(path="/api/v1", route_handlers=[program.router()], dependencies=dependencies)
