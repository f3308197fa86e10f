"""Guess limits that hold when the guesses arrive all at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp
import pytest

from tests.conftest import Env

PHONE = "13812340001"


def _wrong(right: str, i: int = 0) -> str:
    return f"{(int(right) + 1 + i) % 10**6:06d}"


def _not_now(totp: pyotp.TOTP, i: int) -> str:
    """The ``i``-th code that no step near now accepts."""
    now = time.time()
    near = {totp.at(now + drift) for drift in (-60, -30, 0, 30, 60)}
    candidates = (f"{n:06d}" for n in range(i, 10**6))
    return next(c for c in candidates if c not in near)


def _second_step(env: Env, tokens: dict[str, Any], body: dict[str, str]) -> Any:
    """POST a second-factor verification for the signed-in account."""
    return env.client.post("/api/v1/auth/totp/verification", json=body, headers=env.auth(tokens))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"otp_resend_interval_s": 0, "login_per_ip_per_hour": 1000, "totp_per_ip_per_hour": 1000}


async def test_forty_wrong_sms_codes_at_once_judge_only_five(env: Env) -> None:
    code = await env.request_code(PHONE)
    bodies = [{"phone": PHONE, "code": _wrong(code, i)} for i in range(40)]
    results = await asyncio.gather(
        *(env.client.post("/api/v1/auth/login", json=body) for body in bodies)
    )
    codes = [r.json().get("code") for r in results]
    # Four wrong guesses are told how many tries are left; the fifth locks the code, and the
    # other thirty-five, arriving at the same moment, are not compared at all.
    assert codes.count("otp_invalid") == 4
    assert codes.count("otp_locked") == 36
    # ...so the right code, sent next (the order of forty-one at once is the server's, not
    # ours), is never even compared.
    right = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    assert right.status_code == 401 and right.json()["code"] == "otp_locked"


async def test_sixty_wrong_authenticator_codes_at_once_lock_the_second_factor(env: Env) -> None:
    tokens = await env.login(PHONE)
    totp, recovery = await env.enrol_totp(tokens)
    results = await asyncio.gather(
        *(_second_step(env, tokens, {"code": _not_now(totp, i)}) for i in range(60))
    )
    codes = [r.json()["code"] for r in results]
    assert codes.count("totp_invalid") == 4
    assert codes.count("totp_locked") == 56
    locked = results[-1]
    assert locked.status_code == 429
    assert 840 <= int(locked.headers["retry-after"]) <= 900
    # Locked means locked: neither the right code nor a recovery code passes now.
    for body in ({"code": totp.now()}, {"recovery_code": recovery[0]}):
        resp = await env.client.post(
            "/api/v1/auth/totp/verification", json=body, headers=env.auth(tokens)
        )
        assert resp.status_code == 429 and resp.json()["code"] == "totp_locked"
    # Fifteen minutes later the factor opens again and the recovery code still works.
    redis = env.app.state.services.redis
    for key in await redis.keys("superapp:totp-fail:*"):
        await redis.delete(key)
    ok = await _second_step(env, tokens, {"recovery_code": recovery[0]})
    assert ok.status_code == 200, ok.text


async def test_wrong_recovery_codes_count_towards_the_lock(env: Env) -> None:
    tokens = await env.login(PHONE)
    await env.enrol_totp(tokens)
    codes = []
    for i in range(6):
        resp = await env.client.post(
            "/api/v1/auth/totp/verification",
            json={"recovery_code": f"wrong-{i:05d}"},
            headers=env.auth(tokens, **{"Accept-Language": "en"}),
        )
        codes.append(resp.json()["code"])
    assert codes == ["totp_invalid"] * 4 + ["totp_locked"] * 2
    assert "15 minutes" in resp.json()["detail"]


async def test_a_right_code_clears_earlier_mistakes(env: Env) -> None:
    tokens = await env.login(PHONE)
    _, recovery = await env.enrol_totp(tokens)
    for _ in range(4):
        await _second_step(env, tokens, {"recovery_code": "aaaaa-aaaaa"})
    ok = await _second_step(env, tokens, {"recovery_code": recovery[1]})
    assert ok.status_code == 200
    again = await _second_step(env, tokens, {"recovery_code": "aaaaa-aaaaa"})
    assert again.json()["code"] == "totp_invalid"


async def test_enrolment_confirmation_is_limited_too(env: Env) -> None:
    tokens = await env.login(PHONE)
    enrol = await env.client.post("/api/v1/auth/totp/enrolment", headers=env.auth(tokens))
    totp = pyotp.TOTP(enrol.json()["secret"])
    wrong = _not_now(totp, 500)
    results = await asyncio.gather(
        *(
            env.client.post(
                "/api/v1/auth/totp/confirmation", json={"code": wrong}, headers=env.auth(tokens)
            )
            for _ in range(10)
        )
    )
    assert [r.json()["code"] for r in results].count("totp_locked") == 6


async def test_the_second_factor_lock_is_per_account(env: Env) -> None:
    mine = await env.login(PHONE)
    await env.enrol_totp(mine)
    other = await env.login("13812340002")
    _, other_recovery = await env.enrol_totp(other)
    for _ in range(5):
        await _second_step(env, mine, {"recovery_code": "aaaaa-aaaaa"})
    resp = await _second_step(env, other, {"recovery_code": other_recovery[0]})
    assert resp.status_code == 200


class TestPerAddress:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"otp_resend_interval_s": 0, "login_per_ip_per_hour": 3, "totp_per_ip_per_hour": 2}

    async def test_sign_in_attempts_from_one_address_are_throttled_across_phones(
        self, env: Env
    ) -> None:
        statuses = []
        for i in range(4):
            resp = await env.client.post(
                "/api/v1/auth/login", json={"phone": f"1381234{i:04d}", "code": "123456"}
            )
            statuses.append((resp.status_code, resp.json()["code"]))
        assert statuses[:3] == [(401, "otp_expired")] * 3
        assert statuses[3] == (429, "rate_limited")
        assert "retry-after" in resp.headers

    async def test_second_factor_attempts_from_one_address_are_throttled(self, env: Env) -> None:
        tokens = await env.login(PHONE)
        await env.enrol_totp(tokens)
        codes = []
        for _ in range(3):
            resp = await _second_step(env, tokens, {"recovery_code": "aaaaa-aaaaa"})
            codes.append(resp.json()["code"])
        assert codes == ["totp_invalid", "totp_invalid", "rate_limited"]


async def test_a_code_in_full_width_digits_is_refused_without_costing_a_try(env: Env) -> None:
    code = await env.request_code(PHONE)
    wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    resp = await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": wide})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    assert (
        await env.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": code})
    ).status_code == 200


async def test_a_right_code_sent_again_does_not_count_towards_the_lock(env: Env) -> None:
    tokens = await env.login(PHONE)
    totp, _ = await env.enrol_totp(tokens)
    # The confirmation spent this step's code; sending it again (a double-tap, three times
    # over) is refused but is no guess.
    code = totp.now()
    results = await asyncio.gather(*(_second_step(env, tokens, {"code": code}) for _ in range(3)))
    assert [r.json()["code"] for r in results] == ["totp_invalid"] * 3
    # All five mistakes are still to come: four are told so, the fifth locks.
    answers = []
    for i in range(5):
        wrong = await _second_step(env, tokens, {"code": _not_now(totp, i)})
        answers.append(wrong.json()["code"])
    assert answers == ["totp_invalid"] * 4 + ["totp_locked"]
