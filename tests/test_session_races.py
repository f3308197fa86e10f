"""A logout racing a step-up leaves the session ended, never revived."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app_api.auth import sessions
from app_api.auth.state import SessionFamily
from tests.conftest import Env

PHONE = "13700000011"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # One login per round of the race; the hourly code caps are not under test here.
    return {"otp_resend_interval_s": 0, "otp_per_phone_per_hour": 100, "otp_per_ip_per_hour": 100}


async def test_logout_racing_step_up_always_ends_the_session(env: Env) -> None:
    tokens = await env.login(PHONE)
    _, recovery = await env.enrol_totp(tokens)
    for code in recovery:
        session = await env.login(PHONE)
        logout, step_up = await asyncio.gather(
            env.client.post("/api/v1/auth/logout", headers=env.auth(session)),
            env.client.post(
                "/api/v1/auth/totp/verification",
                json={"recovery_code": code},
                headers=env.auth(session),
            ),
        )
        assert logout.status_code == 204
        me = await env.client.get("/api/v1/me", headers=env.auth(session))
        assert me.status_code == 401, (step_up.status_code, me.text)
        refreshed = await env.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert refreshed.status_code == 401


async def test_concurrent_revoke_and_raise_never_resurrect_a_family(env: Env) -> None:
    services = env.app.state.services
    for _ in range(50):
        pair, family = await sessions.start(services, "resident", "someone")
        await asyncio.gather(
            sessions.raise_assurance(services, family, 2),
            sessions.revoke(services, family),
            sessions.raise_assurance(services, family, 2),
        )
        assert await sessions.authenticate(services, pair.access_token) is None


async def test_revoking_or_raising_an_expired_family_does_not_recreate_it(env: Env) -> None:
    services = env.app.state.services
    pair, family = await sessions.start(services, "resident", "someone")
    await services.redis.delete(SessionFamily.make_primary_key(family))
    await sessions.raise_assurance(services, family, 2)
    await sessions.revoke(services, family)
    assert not await services.redis.exists(SessionFamily.make_primary_key(family))
    assert await sessions.authenticate(services, pair.access_token) is None


async def test_step_up_raises_a_live_session_and_its_access_token_keeps_working(env: Env) -> None:
    services = env.app.state.services
    session = await env.login(PHONE)
    family = session["access_token"].partition(".")[0]
    await sessions.raise_assurance(services, family, 2)
    await sessions.raise_assurance(services, family, 1)  # never lowers
    principal = await sessions.authenticate(services, session["access_token"])
    assert principal is not None and principal.aal == 2
    assert (await env.client.get("/api/v1/me", headers=env.auth(session))).status_code == 200
