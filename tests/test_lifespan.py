"""A process of the service (the API or a CLI command) leaves no connection to the outside
systems open behind it, whether it ends normally or fails."""

from __future__ import annotations

import asyncio

import pytest

from app_api.app import create_app
from app_api.auth.otp import CODE_TEMPLATE
from app_api.lifespan import running
from tests.asgi import serve_asgi
from tests.conftest import Env, Sandbox, make_settings


class Interrupted(Exception):
    """What a command fails with in the middle of its work."""


async def _open_connections(sandbox: Sandbox, settle_s: float = 2.0) -> int:
    """Connections the sandbox still holds from us, once closed ones have had time to go."""
    server = sandbox.runner.server
    assert server is not None
    deadline = asyncio.get_running_loop().time() + settle_s
    while server.connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    return len(server.connections)


async def test_a_command_that_fails_still_closes_its_connections(
    database_url: str, redis_url: str, sandbox: Sandbox
) -> None:
    cfg = make_settings(database_url, redis_url, sandbox.url)
    with pytest.raises(Interrupted):
        async with running(cfg) as (services, _jobs):
            await services.sms.send(
                "13800000001", CODE_TEMPLATE, {"code": "123456", "minutes": "5"}
            )
            # Kept alive for the next message: open until the process closes its clients.
            assert len(sandbox.runner.server.connections) == 1  # type: ignore[union-attr]
            raise Interrupted
    assert await _open_connections(sandbox) == 0


async def test_the_api_closes_its_connections_when_it_stops(
    database_url: str, redis_url: str, sandbox: Sandbox
) -> None:
    cfg = make_settings(database_url, redis_url, sandbox.url)
    app = create_app(cfg, start_worker=False)
    async with serve_asgi(app) as client:
        # A login code goes out by SMS; binding an ID number and the home screen read the province.
        env = Env(client=client, app=app, sandbox=sandbox, settings=cfg)
        tokens = await env.verified("13800000008", "321302199205200029")
        home = await client.get("/api/v1/home", headers=env.auth(tokens))
        assert home.status_code == 200, home.text
        assert len(sandbox.runner.server.connections) >= 2  # type: ignore[union-attr]
    assert await _open_connections(sandbox) == 0
