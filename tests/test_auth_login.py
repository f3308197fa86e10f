"""Resident login by phone and SMS code, end to end through the sandbox SMS gateway."""

from __future__ import annotations

import asyncio

import pytest

from integrations.sandbox import SMS
from tests.conftest import Env

PHONE = "13812345678"


async def test_login_me_refresh_logout(env: Env) -> None:
    tokens = await env.login(PHONE)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert tokens["account"]["kind"] == "resident"
    assert tokens["account"]["phone"] == "138****5678"

    me = await env.client.get("/api/v1/me", headers=env.auth(tokens))
    assert me.status_code == 200
    assert me.json()["id"] == tokens["account"]["id"]

    refreshed = await env.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await env.client.get("/api/v1/me", headers=env.auth(new))).status_code == 200

    out = await env.client.post("/api/v1/auth/logout", headers=env.auth(new))
    assert out.status_code == 204
    after = await env.client.get("/api/v1/me", headers=env.auth(new))
    assert after.status_code == 401
    assert after.json()["code"] == "token_invalid"
    again = await env.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}
    )
    assert again.json()["code"] == "token_invalid"


async def test_sms_text_is_the_carrier_template(env: Env) -> None:
    code = await env.request_code(PHONE)
    text = env.sandbox.app[SMS].outbox[-1]["text"]
    assert code in text and text.startswith("【宿迁城市通】")


async def test_first_login_registers_the_phone_once(env: Env) -> None:
    first = await env.login(PHONE)
    second = await env.login("+86 138-1234-5678")
    assert first["account"]["id"] == second["account"]["id"]


async def test_code_is_single_use(env: Env) -> None:
    code = await env.request_code(PHONE)
    body = {"phone": PHONE, "code": code}
    assert (await env.client.post("/api/v1/auth/login", json=body)).status_code == 200
    reuse = await env.client.post("/api/v1/auth/login", json=body)
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "otp_expired"


async def test_concurrent_logins_with_one_code_yield_one_session(env: Env) -> None:
    code = await env.request_code(PHONE)
    body = {"phone": PHONE, "code": code}
    results = await asyncio.gather(
        *(env.client.post("/api/v1/auth/login", json=body) for _ in range(5))
    )
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401, 401]


async def test_wrong_codes_lock_the_challenge_after_five_tries(env: Env) -> None:
    code = await env.request_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    remaining = []
    for _ in range(4):
        resp = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong})
        assert resp.status_code == 401
        assert resp.json()["code"] == "otp_invalid"
        remaining.append(resp.json()["detail"])
    assert "4" in remaining[0] and "1" in remaining[-1]
    fifth = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": wrong})
    assert fifth.json()["code"] == "otp_locked"
    # Even the right code is dead now.
    right = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    assert right.status_code == 401
    assert right.json()["code"] == "otp_locked"
    # A fresh code works again.
    assert (await env.login(PHONE))["account"]["kind"] == "resident"


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "12345",
        "23800000000",
        "1380000000a",
        "138000000001",
        "+1 415 555 0100",
        "电话",
        "138０００００００1",  # full-width digits
        "138٠٠٠٠٠٠٠1",  # Arabic-Indic digits
    ],
)
async def test_bad_phone_numbers_are_refused_and_nothing_is_sent(env: Env, phone: str) -> None:
    resp = await env.client.post("/api/v1/auth/otp", json={"phone": phone})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] in ("phone_invalid", "validation_failed")
    assert env.sandbox.app[SMS].outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": PHONE},
        {"phone": PHONE, "code": "12345"},
        {"phone": PHONE, "code": "abcdef"},
        {"phone": PHONE, "code": "123456", "portal": "admin"},
        {"phone": PHONE, "code": "123456", "extra": True},
    ],
)
async def test_malformed_login_bodies_get_validation_problems(env: Env, body: dict) -> None:
    resp = await env.client.post("/api/v1/auth/login", json=body)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["code"] == "validation_failed"
    assert problem["errors"], problem
    assert "Traceback" not in resp.text


async def test_unknown_field_is_named_in_the_problem(env: Env) -> None:
    resp = await env.client.post("/api/v1/auth/otp", json={"phone": PHONE, "channel": "voice"})
    assert resp.json()["errors"][0] == {
        "field": "channel",
        "reason": "unknown_field",
        "source": "body",
    }


async def test_operator_portal_refuses_a_resident_with_the_right_code_and_keeps_it(
    env: Env,
) -> None:
    code = await env.request_code(PHONE)
    resp = await env.client.post(
        "/api/v1/auth/login", json={"phone": PHONE, "code": code, "portal": "operator"}
    )
    assert resp.status_code == 403
    ok = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    assert ok.status_code == 200


async def test_protected_routes_need_a_bearer_token(env: Env) -> None:
    for path in ("/api/v1/me", "/api/v1/profile", "/api/v1/delegations", "/api/v1/audit/events"):
        resp = await env.client.get(path)
        assert resp.status_code == 401, path
        assert resp.json()["code"] == "not_authenticated"
        bogus = await env.client.get(path, headers={"Authorization": "Bearer nope"})
        assert bogus.json()["code"] == "token_invalid"
