"""Resend interval, hourly caps per phone and per client address, and SMS outages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from tests.conftest import Env

PHONE = "13912340000"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"otp_resend_interval_s": 60, "otp_per_phone_per_hour": 3, "otp_per_ip_per_hour": 5}


async def test_resend_within_a_minute_is_refused_with_retry_after(env: Env) -> None:
    await env.request_code(PHONE)
    again = await env.client.post(
        "/api/v1/auth/otp", json={"phone": PHONE}, headers={"Accept-Language": "en"}
    )
    assert again.status_code == 429
    assert again.json()["code"] == "otp_resend_too_soon"
    assert 55 <= int(again.headers["retry-after"]) <= 60
    assert "seconds" in again.json()["detail"]
    assert len(env.sandbox.sms_codes(PHONE)) == 1


async def test_concurrent_requests_send_one_code(env: Env) -> None:
    results = await asyncio.gather(
        *(env.client.post("/api/v1/auth/otp", json={"phone": PHONE}) for _ in range(6))
    )
    assert sorted(r.status_code for r in results) == [202] + [429] * 5
    assert len(env.sandbox.sms_codes(PHONE)) == 1


async def test_hourly_cap_per_phone(env: Env) -> None:
    redis = env.app.state.services.redis
    for _ in range(3):
        await env.request_code(PHONE)
        # Let the resend interval pass without waiting a minute.
        for key in await redis.keys("superapp:otp-resend:*"):
            await redis.delete(key)
    fourth = await env.client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert fourth.status_code == 429
    assert fourth.json()["code"] == "rate_limited"
    assert len(env.sandbox.sms_codes(PHONE)) == 3


async def test_hourly_cap_per_client_address_across_phones(env: Env) -> None:
    phones = [f"1391234{i:04d}" for i in range(6)]
    statuses = [
        (await env.client.post("/api/v1/auth/otp", json={"phone": p})).status_code for p in phones
    ]
    assert statuses == [202] * 5 + [429]
    # The refused phone was not charged: its own resend interval did not start.
    assert env.sandbox.sms_codes(phones[-1]) == []


async def test_sms_outage_gives_503_and_charges_nothing(env: Env) -> None:
    env.sandbox.app[FAULTS].set("sms", _fault("error"))
    failed = await env.client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert failed.status_code == 503
    assert failed.json()["code"] == "sms_unavailable"
    env.sandbox.app[FAULTS].clear()
    # No resend wait was started and no code exists to log in with.
    assert (await env.client.post("/api/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    assert len(env.sandbox.sms_codes(PHONE)) == 1


async def test_a_hanging_sms_gateway_is_given_up_on_and_charges_nothing(env: Env) -> None:
    # The gateway would hang for an hour on each of the next 5 requests (its count shows
    # how many it received); the client's own timeout (SUPERAPP_SMS_TIMEOUT_S) gives up.
    env.sandbox.app[FAULTS].set("sms", Fault(kind="timeout", times=5))
    failed = await env.client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert failed.status_code == 503 and failed.json()["code"] == "sms_unavailable"
    assert env.sandbox.app[FAULTS].snapshot()["sms"].times == 4  # one attempt, not retried
    env.sandbox.app[FAULTS].clear()
    # No resend wait was started: the resident can ask again at once and gets a code.
    assert (await env.client.post("/api/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    assert len(env.sandbox.sms_codes(PHONE)) == 1


def _fault(kind: str) -> Fault:
    return Fault(kind=kind)


async def test_expired_code_is_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    code = await env.request_code(PHONE)
    redis = env.app.state.services.redis
    # Expire the challenge as Redis would after five minutes.
    for key in await redis.keys("superapp:otp:*"):
        await redis.pexpire(key, 1)
    await asyncio.sleep(0.05)
    resp = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    assert resp.status_code == 401
    assert resp.json()["code"] == "otp_expired"


async def test_challenge_lives_exactly_the_configured_ttl(env: Env) -> None:
    await env.request_code(PHONE)
    redis = env.app.state.services.redis
    keys = await redis.keys("superapp:otp:*")
    assert len(keys) == 1
    assert 295 <= await redis.ttl(keys[0]) <= 300
    # The phone number itself is not readable from Redis.
    assert all(PHONE not in k for k in await redis.keys("*"))
