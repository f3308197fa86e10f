"""Upstreams of the provincial gateway are declared once each: a name is taken once, and the
sandbox plays exactly the upstreams it is given, through the handler each declaration names.

The parking upstream below exists only here: its wire data, Protocol, client and sandbox
handler are all this module, as a mini-program's ``upstream.py`` and ``sandbox.py`` would be.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import aiohttp
import msgspec
import pytest
from aiohttp import web
from litestar import Router

from app_api import kv
from app_api.declarations import DeclarationError
from app_api.miniprogram import upstreams
from integrations.provincial import (
    PREFIX,
    AuditHook,
    Fetched,
    Gateway,
    Upstream,
    UpstreamRejected,
    UpstreamUnavailable,
    build_clients,
    client_of,
)
from integrations.sandbox import FAULTS, UPSTREAMS, SandboxConfig, run_sandbox
from integrations.sandbox.faults import Fault
from integrations.sandbox.kit import SandboxKit, ok
from integrations.sandbox.people import Person
from integrations.signing import signed_headers
from miniprograms.contract import MiniProgram
from tests.conftest import APP_ID, APP_SECRET
from tests.live import ROOT

PERSON = "321302198503120137"
NAME = "parking"


class Permit(msgspec.Struct):
    plate: str
    zone: str


@runtime_checkable
class ParkingUpstream(Protocol):
    async def permit(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Permit]:
        """A resident's parking permit."""
        ...


class ParkingClient:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def permit(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Permit]:
        return await self._gateway.read(
            NAME,
            f"{PREFIX}/parking/permit",
            {"id_number": id_number},
            Permit,
            audit=audit,
            purpose=purpose,
            fresh_s=60,
        )


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """The parking upstream's sandbox handler; ``kit.state`` counts the permits it served."""
    kit.state = {"served": 0}

    async def permit(request: web.Request, person: Person, _body: Any) -> web.Response:
        kit.state["served"] += 1
        return ok({"plate": f"苏N{person.id_number[-5:]}", "zone": "宿城"})

    return [kit.get("/permit", permit)]


PARKING = Upstream(name=NAME, client=ParkingClient, sandbox=f"{__name__}:routes")


class Audit:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def __call__(self, action: str, resource: str, purpose: str) -> None:
        self.calls.append((action, resource, purpose))


@pytest.fixture
async def parking_sandbox() -> AsyncIterator[web.AppRunner]:
    """A sandbox given the parking upstream and no other."""
    config = SandboxConfig(app_secrets={APP_ID: APP_SECRET}, upstreams=(PARKING,))
    runner = await run_sandbox(config, "127.0.0.1", 0)
    yield runner
    await runner.cleanup()


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def test_the_sandbox_plays_exactly_the_upstreams_it_is_given(
    parking_sandbox: web.AppRunner, redis_url: str
) -> None:
    redis = kv.connect(redis_url)
    gateway = Gateway(_url(parking_sandbox), APP_ID, APP_SECRET, redis, b"p" * 32)
    parking = client_of(build_clients(gateway, [PARKING]), NAME, ParkingUpstream)
    try:
        audit = Audit()
        fetched = await parking.permit(PERSON, audit=audit, purpose="test")
        assert fetched.data == Permit(plate="苏N20137", zone="宿城") and not fetched.stale
        assert audit.calls == [("provincial.parking.read", "/gov/v1/parking/permit", "test")]
        assert parking_sandbox.app[UPSTREAMS][NAME].state == {"served": 1}
        # The kit's per-person lookup and the fault board keyed by the upstream's name.
        with pytest.raises(UpstreamRejected) as caught:
            await parking.permit("123", audit=audit, purpose="test")
        assert caught.value.code == "PERSON_NOT_FOUND"
        parking_sandbox.app[FAULTS].set(NAME, Fault(kind="error"))
        with pytest.raises(UpstreamUnavailable):
            await parking.permit("321311195208210247", audit=audit, purpose="test")
    finally:
        await gateway.close()
        await redis.aclose()
    # No provincial route but the parking one: the core upstreams and the mini-programs'
    # were not given, so they are not there (a correctly signed request finds nothing).
    provincial_paths = {
        resource.canonical
        for resource in parking_sandbox.app.router.resources()
        if resource.canonical.startswith(PREFIX)
    }
    assert provincial_paths == {"/gov/v1/parking/permit"}
    assert set(parking_sandbox.app[UPSTREAMS]) == {NAME}
    path = "/gov/v1/social-security/summary"
    headers = signed_headers(APP_ID, APP_SECRET, "GET", path, {"id_number": PERSON}, b"")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            _url(parking_sandbox) + path, params={"id_number": PERSON}, headers=headers
        ) as resp,
    ):
        assert resp.status == 404


async def test_the_sandbox_checks_signatures_on_every_upstream_it_plays(
    parking_sandbox: web.AppRunner, redis_url: str
) -> None:
    redis = kv.connect(redis_url)
    gateway = Gateway(_url(parking_sandbox), APP_ID, "not-the-secret", redis, b"p" * 32)
    parking = client_of(build_clients(gateway, [PARKING]), NAME, ParkingUpstream)
    try:
        with pytest.raises(UpstreamRejected) as caught:
            await parking.permit(PERSON, audit=Audit(), purpose="test")
        assert caught.value.code == "SIGNATURE_INVALID"
        assert parking_sandbox.app[UPSTREAMS][NAME].state == {"served": 0}
    finally:
        await gateway.close()
        await redis.aclose()


class OtherParkingClient(ParkingClient):
    """A second client someone wrote for the same upstream name."""


async def test_two_upstreams_with_one_name_are_refused(redis_url: str) -> None:
    redis = kv.connect(redis_url)
    gateway = Gateway("http://127.0.0.1:9", APP_ID, APP_SECRET, redis, b"p" * 32)
    twin = replace(PARKING, client=OtherParkingClient)
    with pytest.raises(ValueError, match="two provincial upstreams are named 'parking'"):
        build_clients(gateway, [PARKING, twin])
    with pytest.raises(ValueError, match="two provincial upstreams are named 'parking'"):
        await run_sandbox(
            SandboxConfig(app_secrets={APP_ID: APP_SECRET}, upstreams=(PARKING, twin)),
            "127.0.0.1",
            0,
        )
    await redis.aclose()


def test_a_mini_program_cannot_bring_an_upstream_someone_else_brings() -> None:
    def program(slug: str, *brought: Upstream) -> MiniProgram:
        router = Router(path=f"/{slug}", route_handlers=[])
        return MiniProgram(slug=slug, title=slug, router=lambda: router, upstreams=brought)

    assert [u.name for u in upstreams([program("city_parking", PARKING)])] == [
        "population",
        "enterprise",
        "parking",
    ]
    with pytest.raises(DeclarationError, match="'population' is brought twice: by core and by"):
        upstreams([program("census", replace(PARKING, name="population"))])
    with pytest.raises(DeclarationError, match="by mini-program 'a' and by mini-program 'b'"):
        upstreams([program("a", PARKING), program("b", PARKING)])


def test_declaring_upstreams_imports_no_sandbox_code() -> None:
    """The specs name their sandbox handlers as strings: the service builds every client
    without importing a line of any sandbox handler."""
    script = (
        "import sys\n"
        "from app_api.miniprogram import upstreams\n"
        "assert {u.name for u in upstreams()} >= {'population', 'social_security'}\n"
        "print(sorted(m for m in sys.modules"
        " if m.endswith('.sandbox') or m.startswith('integrations.sandbox')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
