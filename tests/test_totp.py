"""TOTP second factor for operators and enterprise admins, with one-time recovery codes."""

from __future__ import annotations

import pytest

from app_api.identity.models import Operator, TotpFactor
from tests.conftest import Env

OPERATOR_PHONE = "13900009999"


@pytest.fixture
async def auditor(env: Env) -> Operator:
    return await Operator.create(phone=OPERATOR_PHONE, name="审计员", roles=["auditor"])


async def test_operator_needs_totp_before_any_operator_route(env: Env, auditor: Operator) -> None:
    tokens = await env.login(OPERATOR_PHONE, portal="operator")
    assert tokens["account"]["kind"] == "operator"
    assert tokens["account"]["mfa_enrolled"] is False
    blocked = await env.client.get("/api/v1/audit/events", headers=env.auth(tokens))
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "mfa_required"

    enrol = await env.client.post("/api/v1/auth/totp/enrolment", headers=env.auth(tokens))
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert "issuer=" in enrol.json()["otpauth_uri"]
    assert enrol.json()["qr_svg"].startswith("<svg")
    _, codes = await env.enrol_totp(tokens)
    assert len(codes) == 10 and len(set(codes)) == 10
    allowed = await env.client.get("/api/v1/audit/events", headers=env.auth(tokens))
    assert allowed.status_code == 200
    # The factor's secret is sealed, never stored in the clear.
    factor = await TotpFactor.get(account_id=auditor.id)
    assert factor.secret_sealed.startswith("v1:") and factor.confirmed_at is not None


async def test_new_session_steps_up_with_a_code_once(env: Env, auditor: Operator) -> None:
    totp, _ = await env.enrol_totp(await env.login(OPERATOR_PHONE, portal="operator"))
    fresh = await env.login(OPERATOR_PHONE, portal="operator")
    assert (await env.client.get("/api/v1/audit/events", headers=env.auth(fresh))).json()[
        "code"
    ] == "mfa_required"
    # The time step whose code confirmed the enrolment, as the server recorded it: the codes
    # below are derived from it, not from the clock, so a 30 s boundary between the lines
    # of this test changes nothing (the server accepts one step either side of its own).
    used = (await TotpFactor.get(account_id=auditor.id)).last_used_step
    replay = await env.client.post(
        "/api/v1/auth/totp/verification",
        json={"code": totp.generate_otp(used)},
        headers=env.auth(fresh),
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "totp_invalid"
    next_code = totp.generate_otp(used + 1)
    ok = await env.client.post(
        "/api/v1/auth/totp/verification", json={"code": next_code}, headers=env.auth(fresh)
    )
    assert ok.status_code == 200
    assert ok.json() == {"aal": 2, "method": "totp", "recovery_codes_left": 10}
    assert (
        await env.client.get("/api/v1/audit/events", headers=env.auth(fresh))
    ).status_code == 200


async def test_recovery_codes_work_once_each(env: Env, auditor: Operator) -> None:
    _, codes = await env.enrol_totp(await env.login(OPERATOR_PHONE, portal="operator"))
    session = await env.login(OPERATOR_PHONE, portal="operator")
    used = await env.client.post(
        "/api/v1/auth/totp/verification",
        json={"recovery_code": codes[0].upper()},
        headers=env.auth(session),
    )
    assert used.status_code == 200
    assert used.json()["method"] == "recovery_code"
    assert used.json()["recovery_codes_left"] == 9
    other = await env.login(OPERATOR_PHONE, portal="operator")
    again = await env.client.post(
        "/api/v1/auth/totp/verification", json={"recovery_code": codes[0]}, headers=env.auth(other)
    )
    assert again.status_code == 401
    assert again.json()["code"] == "totp_invalid"


async def test_wrong_code_and_missing_factor(env: Env, auditor: Operator) -> None:
    tokens = await env.login(OPERATOR_PHONE, portal="operator")
    none_yet = await env.client.post(
        "/api/v1/auth/totp/verification", json={"code": "123456"}, headers=env.auth(tokens)
    )
    assert none_yet.json()["code"] == "totp_not_enrolled"
    await env.client.post("/api/v1/auth/totp/enrolment", headers=env.auth(tokens))
    wrong = await env.client.post(
        "/api/v1/auth/totp/confirmation", json={"code": "000000"}, headers=env.auth(tokens)
    )
    assert wrong.status_code == 401
    empty = await env.client.post(
        "/api/v1/auth/totp/verification", json={}, headers=env.auth(tokens)
    )
    assert empty.status_code == 422


async def test_enrolment_cannot_be_replaced_once_confirmed(env: Env, auditor: Operator) -> None:
    tokens = await env.login(OPERATOR_PHONE, portal="operator")
    await env.enrol_totp(tokens)
    again = await env.client.post("/api/v1/auth/totp/enrolment", headers=env.auth(tokens))
    assert again.status_code == 409
    assert again.json()["code"] == "totp_already_enrolled"


async def test_operator_without_the_role_is_forbidden(env: Env) -> None:
    await Operator.create(phone=OPERATOR_PHONE, name="编辑", roles=["policy_editor"])
    tokens = await env.login(OPERATOR_PHONE, portal="operator")
    await env.enrol_totp(tokens)
    resp = await env.client.get("/api/v1/audit/events", headers=env.auth(tokens))
    assert resp.status_code == 403
    assert resp.json()["code"] == "forbidden"


async def test_residents_cannot_reach_operator_routes(env: Env) -> None:
    tokens = await env.login("13700000002")
    resp = await env.client.get("/api/v1/audit/events", headers=env.auth(tokens))
    assert resp.status_code == 403
    assert resp.json()["code"] == "forbidden"


async def test_deactivated_operator_loses_access(env: Env, auditor: Operator) -> None:
    tokens = await env.login(OPERATOR_PHONE, portal="operator")
    await env.enrol_totp(tokens)
    auditor.active = False
    await auditor.save()
    resp = await env.client.get("/api/v1/audit/events", headers=env.auth(tokens))
    assert resp.status_code == 401
