"""The client address that limits and the audit log rest on cannot be chosen by the caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from app_api import settings
from app_api.addresses import client_address, trusted_networks
from app_api.app import create_app
from app_api.audit.chain import AuditEvent
from app_api.cli import uvicorn_options
from tests.conftest import Env, Sandbox, make_settings

PROXIES = trusted_networks(("10.0.0.0/8", "192.168.1.5"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted proxies configured: the header is ignored whoever sends it.
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
        # Our proxy appended the address it saw; what the caller wrote to its left is not believed.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
        # Two of our proxies in a row (CIDR and single address), then the client.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.7, 192.168.1.5"], "198.51.100.7"),
        # Several X-Forwarded-For headers are one list, in order.
        ("10.1.2.3", ["6.6.6.6", "198.51.100.7, 10.9.9.9"], "198.51.100.7"),
        # A caller who is not our proxy cannot speak for anyone else.
        ("198.51.100.7", ["10.0.0.1"], "198.51.100.7"),
        # Garbage to the right of a trusted hop: stop at the hop we can still believe.
        ("10.1.2.3", ["1.2.3.4, not-an-ip"], "10.1.2.3"),
        # Only proxies: the leftmost of them.
        ("10.1.2.3", ["10.0.0.2"], "10.0.0.2"),
        ("10.1.2.3", [], "10.1.2.3"),
        ("::ffff:10.1.2.3", ["198.51.100.7"], "198.51.100.7"),
    ],
)
def test_the_address_is_the_first_untrusted_hop_from_the_right(
    peer: str, forwarded: list[str], expected: str
) -> None:
    trusted = () if expected == "203.0.113.9" else PROXIES
    assert client_address(peer, forwarded, trusted) == expected


def test_a_trusted_proxy_entry_that_is_not_an_address_refuses_to_start() -> None:
    with pytest.raises(settings.SettingsError, match="TRUSTED_PROXIES"):
        settings.load({"SUPERAPP_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"})


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"otp_resend_interval_s": 0, "otp_per_ip_per_hour": 3, "trusted_proxies": ("127.0.0.1",)}


async def test_behind_our_proxy_the_caller_cannot_choose_the_audited_address(env: Env) -> None:
    # The proxy on loopback appends what it saw (198.51.100.7); the caller prepended a lie.
    phone = "13912345678"
    code = await env.request_code(phone)
    resp = await env.client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code},
        headers={"X-Forwarded-For": "8.8.8.8, 198.51.100.7"},
    )
    assert resp.status_code == 200, resp.text
    login = await AuditEvent.filter(action="auth.login").first()
    assert login is not None and login.ip == "198.51.100.7"


@contextlib.asynccontextmanager
async def _uvicorn(cfg: settings.Settings) -> AsyncIterator[str]:
    """The API served by uvicorn exactly as ``superapp serve`` configures it."""
    options = {**uvicorn_options(cfg), "host": "127.0.0.1", "port": 0}
    server = uvicorn.Server(uvicorn.Config(create_app(cfg, start_worker=False), **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_without_trusted_proxies_forwarded_for_does_not_escape_the_address_cap(
    database_url: str, redis_url: str, sandbox: Sandbox
) -> None:
    cfg = make_settings(
        database_url, redis_url, sandbox.url, otp_resend_interval_s=0, otp_per_ip_per_hour=3
    )
    async with _uvicorn(cfg) as url, httpx.AsyncClient(base_url=url) as client:
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/otp",
                    json={"phone": f"1391234{i:04d}"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
            ).status_code
            for i in range(5)
        ]
    assert statuses == [202, 202, 202, 429, 429]
