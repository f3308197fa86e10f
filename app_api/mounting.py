"""Mounting the installed mini-programs: their declarations checked, their routers given
their own dependencies and their ``runtime``, each under ``/api/v1``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.di import Provide

from app_api import declarations
from app_api.auth.guards import services_of
from app_api.declarations import DeclarationError
from app_api.delegation.scopes import CORE_SCOPES
from app_api.deps import DEPENDENCIES
from app_api.errors import PROBLEMS
from app_api.miniprogram import upstreams
from app_api.settings import Settings
from integrations.provincial import CORE_UPSTREAMS
from locales import add_catalogs
from miniprograms.contract import PROVIDED, MiniProgram, Runtime

# Names Litestar itself gives handlers; a dependency of that name would never be called.
RESERVED = ("request", "socket", "state", "scope", "headers", "cookies", "query", "body", "data")


# Core dependencies a program's handler may not take: they reach past what the contract
# hands a program (the vault, the secret key, the whole Redis, the caller's session).
CORE_ONLY = frozenset(set(DEPENDENCIES) - set(PROVIDED)) | {"request", "socket", "state", "scope"}


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
    upstreams(programs)  # a clash stops the build, not only the lifespan
    core_names = {spec.name for spec in CORE_UPSTREAMS}
    for program in programs:
        unknown = sorted(set(program.core_upstreams) - core_names)
        if unknown:
            raise DeclarationError(
                f"mini-program {program.slug!r}: core_upstreams {unknown} are not core "
                f"upstreams ({sorted(core_names)})"
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


def _clients_of(slug: str) -> Callable[[Request], Any]:
    async def provide_clients(request: Request) -> Mapping[str, object]:
        return services_of(request).runtimes[slug].clients

    return provide_clients


def router(program: MiniProgram) -> Router:
    """The program's router under ``/api/v1`` with its dependencies, its ``runtime`` and
    only its own ``clients``; refuses handlers that reach past the contract."""
    dependencies = {name: _provide(fn) for name, fn in program.dependencies.items()}
    dependencies["runtime"] = Provide(_runtime_of(program.slug))
    dependencies["clients"] = Provide(_clients_of(program.slug))
    mounted = Router(path="/api/v1", route_handlers=[program.router()], dependencies=dependencies)
    for route in mounted.routes:
        for handler in getattr(route, "route_handlers", ()):
            _check_handler(program, handler, mounted)
    return mounted


def _check_handler(program: MiniProgram, handler: Any, mounted: Router) -> None:
    if handler.fn.__module__.startswith("litestar."):
        return  # the OPTIONS handler Litestar adds to each path
    where = f"mini-program {program.slug!r}, {handler.handler_name} ({sorted(handler.paths)})"
    taken = CORE_ONLY & set(inspect.signature(handler.fn).parameters)
    if taken:
        raise DeclarationError(
            f"{where} takes {sorted(taken)}: a program's handler gets what the contract "
            f"provides ({sorted(PROVIDED)}) and its own dependencies"
        )
    forbidden = set(DEPENDENCIES) | set(PROVIDED) | set(RESERVED)
    for layer in handler.ownership_layers:
        if layer is mounted:
            continue
        shadowing = forbidden & set(layer.dependencies or {})
        if shadowing:
            raise DeclarationError(
                f"{where}: dependencies {sorted(shadowing)} declared on its routers or "
                "handlers would shadow the ones app_api provides"
            )
    rule = handler.opt.get("access")
    scope = getattr(rule, "scope", None)
    if scope is not None and scope not in program.scopes:
        raise DeclarationError(
            f"{where}: scope {scope!r} is not one of its own ({sorted(program.scopes)}); a "
            "relative granted another program's scope must not reach this one's data"
        )
