"""Deliberately wrong or hostile versions of the parking program, one per probe.

tests/test_newcomer_parking.py installs them through an entry point, one at a time, to see
whether start-up refuses the mistake, or what a resident would get at run time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litestar import Router, get
from litestar.di import Provide

from integrations.provincial.population import population_client
from miniprograms.access import public, resident
from miniprograms.contract import Card, CardContext, Problem, Runtime, Subject
from tests.newcomer_parking import PROGRAM, jobs, routes
from tests.newcomer_parking.upstream import UPSTREAM


def _program(**change: Any) -> Any:
    return dataclasses.replace(PROGRAM, **change)


def _router(*handlers: Any, **kwargs: Any) -> Any:
    return lambda: Router(path="/parking", route_handlers=list(handlers), **kwargs)


# -- start-up mistakes -------------------------------------------------------------------------


@get("/no-rule")
async def no_rule() -> None:
    return None


@get("/typo", opt={"acess": resident()})
async def typo() -> None:
    return None


@get("/undeclared-scope", opt={"access": resident(scope="view_parking_permit")})
async def undeclared_scope() -> None:
    return None


@get("/unknown-problem", opt={"access": resident(), "problems": ("parking_zone_full",)})
async def unknown_problem() -> None:
    return None


NO_RULE = _program(router=_router(no_rule))
TYPO = _program(router=_router(typo))
UNDECLARED_SCOPE = _program(router=_router(undeclared_scope))
UNKNOWN_PROBLEM = _program(router=_router(unknown_problem))
# A newcomer writes ``router = Router(...)`` in routes.py: an instance, not a factory.
ROUTER_INSTANCE = _program(router=Router(path="/parking", route_handlers=[]))


# Shadowing ``subject`` through the program's own Router, not its ``dependencies`` table.
async def someone_else() -> Subject:
    return Subject(
        resident_id="00000000-0000-0000-0000-000000000000",
        actor_id="x",
        id_number="321322194604040248",
        name="赵桂兰",
        locale="zh_Hans",
    )


@get("/whose", opt={"access": resident()})
async def whose(subject: Subject) -> dict[str, Any]:
    return {"name": subject.name}


SHADOW_IN_ROUTER = _program(router=_router(whose, dependencies={"subject": Provide(someone_else)}))

# Sandbox handler paths that cannot be imported.
BAD_SANDBOX_MODULE = _program(
    upstreams=(dataclasses.replace(UPSTREAM, sandbox="tests.newcomer_parking.sandbx:routes"),)
)
BAD_SANDBOX_ATTR = _program(
    upstreams=(dataclasses.replace(UPSTREAM, sandbox="tests.newcomer_parking.sandbox:route"),)
)
TWO_UPSTREAMS = _program(upstreams=(UPSTREAM, UPSTREAM))
AS_POPULATION = _program(upstreams=(dataclasses.replace(UPSTREAM, name="population"),))
DASHED_TWIN = _program(upstreams=(UPSTREAM, dataclasses.replace(UPSTREAM, name="city-parking")))

# A cron string no scheduler can read.
BAD_CRON = _program(cron=(dataclasses.replace(PROGRAM.cron[0], cron="every morning"),))


def not_async_job(runtime: Runtime) -> str:
    return "sync"


SYNC_JOB = _program(jobs=(not_async_job,), cron=())


def _misspelt_settings() -> Any:
    import msgspec

    class Settings(msgspec.Struct, frozen=True, kw_only=True):
        reminder_days: int = 0  # production should refuse this

        def production_problem(self) -> list[str]:
            return ["SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS must be between 1 and 30"]

    return Settings


MISSPELT_CHECK = _program(settings=_misspelt_settings())

# Slug "core" with models: the Tortoise app of the same name is app_api's own.
CORE_SLUG = _program(slug="core", models_module="tests.newcomer_parking.models")


# -- run time ------------------------------------------------------------------------------


@get("/peek", opt={"access": resident()})
async def peek(services: Any, principal: Any) -> dict[str, Any]:
    """Asks for app_api's own ``services`` and ``principal``, which PROVIDED does not list."""
    return {
        "secret_key_len": len(services.settings.secret_key),
        "has_vault": hasattr(services, "vault"),
        "principal_kind": principal.kind,
    }


@get("/registry", opt={"access": resident()})
async def registry(clients: Mapping[str, object], audit: Any, id_number: str) -> dict[str, Any]:
    """Any signed-in resident names any ID number; the program asks the population registry."""
    fetched = await population_client(clients).profile(
        id_number, consent_ref="made-up", audit=audit, purpose="parking.curiosity"
    )
    return {"profile": fetched.data}


@get("/sessions", opt={"access": resident()})
async def sessions(runtime: Runtime) -> dict[str, Any]:
    """Walks the shared Redis: every session family, and promotes all of them to aal 2."""
    redis = getattr(runtime, "redis", None)  # a program is handed runtime.store only
    families = [key async for key in redis.scan_iter("superapp:family:*")] if redis else []
    for key in families:
        await redis.hset(key, "aal", 2)  # type: ignore[union-attr]
    # ...and its store cannot name a session key: it lands under program:newcomer_parking:
    await runtime.store.hset("superapp:family:any", {"aal": 2})
    return {"families": len(families)}


@get("/borrowed-scope", opt={"access": resident(scope="view_profile")})
async def borrowed_scope(subject: Subject) -> dict[str, Any]:
    """A parking route guarded by the core ``view_profile`` scope."""
    return {"whose": subject.name}


@get("/undeclared-problem", opt={"access": resident()})
async def undeclared_problem() -> None:
    raise Problem("parking_zone_full")


@get("/missing-param", opt={"access": resident()})
async def missing_param() -> None:
    raise Problem("parking_permit_missing", zone="A")  # the detail wants {office}


@get("/no-params", opt={"access": resident()})
async def no_params() -> None:
    raise Problem("parking_permit_missing")


@get("/foreign-problem", opt={"access": resident()})
async def foreign_problem() -> None:
    raise Problem("identity_locked")  # a core code, not declared on the route


@get("/public-subject", opt={"access": public()})
async def public_subject(subject: Subject) -> dict[str, Any]:
    return {"name": subject.name}


@get("/home", opt={"access": resident()})
async def fake_home() -> dict[str, Any]:
    return {"cards": []}


async def enqueue_others(runtime: Runtime) -> list[str]:
    """Tries to reach the library's job and the core audit job through runtime.enqueue."""
    names = []
    for name in ("city_library.publish_opening_hours", "verify_audit_chain"):
        job = await runtime.enqueue(name)
        names.append(getattr(job, "function", str(job)))
    return names


ATTACKER = _program(
    router=_router(
        routes.permits,
        registry,
        sessions,
        undeclared_problem,
        missing_param,
        no_params,
        foreign_problem,
    ),
    jobs=(jobs.remind_expiring, enqueue_others),
)
# Refused at start-up, each on its own: app_api's own services and principal, and a route
# guarded by a scope the program does not own.
PEEK = _program(router=_router(peek))
BORROWED_SCOPE = _program(router=_router(borrowed_scope))
# A public route asking for `subject` (which needs a signed-in caller): refused at start-up.
PUBLIC_SUBJECT = _program(router=_router(public_subject))
# A route at /api/v1/home is refused only if Litestar notices; here under /parking it is
# harmless, so a program router at the root is tried too.
ROOT_ROUTER = _program(router=lambda: Router(path="/", route_handlers=[fake_home]))


# -- cards ---------------------------------------------------------------------------------


async def raising_card(ctx: CardContext) -> Card:
    raise RuntimeError("bug in the card")


async def hanging_card(ctx: CardContext) -> Card:
    await asyncio.sleep(3600)
    raise AssertionError


async def stubborn_card(ctx: CardContext) -> Card:
    """Swallows the deadline's cancellation and keeps going for 3 s."""
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue
    return Card(id="newcomer_parking", title="late", summary="late")


async def cancelled_card(ctx: CardContext) -> Card:
    raise asyncio.CancelledError


async def none_card(ctx: CardContext) -> Card:
    return None  # type: ignore[return-value]


async def impostor_card(ctx: CardContext) -> Card:
    return Card(id="social_security", title="社保", summary="您的社保已停缴，请点击链接补缴")


RAISING_CARD = _program(card=raising_card)
HANGING_CARD = _program(card=hanging_card)
STUBBORN_CARD = _program(card=stubborn_card)
CANCELLED_CARD = _program(card=cancelled_card)
NONE_CARD = _program(card=none_card)
IMPOSTOR_CARD = _program(card=impostor_card)


@get("/library-scope", opt={"access": resident(scope="view_library_loans")})
async def library_scope(subject: Subject) -> dict[str, Any]:
    """A parking route guarded by the city library's scope."""
    return {"whose": subject.name}


LIBRARY_SCOPE = _program(router=_router(library_scope))
# Its catalogs translate the city library's title and a core msgid its own way.
HOSTILE_CATALOGS = _program(catalogs=str(Path(__file__).parent / "hostile_locales"))
