"""Real-name binding is verified with the population registry, bound once, limited, and
corrected only by a reviewer (issue: hardening, item 1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app_api.audit.chain import AuditEvent
from app_api.identity.models import IdentityCorrection, Operator, Resident
from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from integrations.sandbox.registry import registered_name
from tests.conftest import Env

WANG = "321302198503120137"  # 王建国, whose line is 13800000001
ZHOU = "321302199205200029"  # 周敏, a test person who has not signed up (13800000008)
STRANGER_PHONE = "13600000001"
BIND = "/api/v1/profile/identity"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "otp_resend_interval_s": 0,
        "otp_per_ip_per_hour": 1000,
        "otp_per_phone_per_hour": 1000,
    }


async def _bind(env: Env, tokens: dict[str, Any], name: str, id_number: str):
    return await env.client.put(
        BIND, json={"name": name, "id_number": id_number}, headers=env.auth(tokens)
    )


async def _row(phone: str) -> Resident:
    return await Resident.get(phone=phone)


async def _registry_checks() -> int:
    return await AuditEvent.filter(action="provincial.population.verify").count()


async def test_a_stranger_cannot_bind_someone_elses_id_number(env: Env) -> None:
    tokens = await env.login(STRANGER_PHONE)
    resp = await _bind(env, tokens, "王建国", WANG)  # the right name, but not their line
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "identity_mismatch"
    row = await _row(STRANGER_PHONE)
    assert row.id_number_index is None and row.name is None
    # So nothing of 王建国's can be read or filed in his name.
    summary = await env.client.get("/api/v1/social-security/summary", headers=env.auth(tokens))
    assert summary.json()["code"] == "real_name_required"
    withdrawal = await env.client.post(
        "/api/v1/housing-fund/withdrawals",
        json={"reason": "rent", "amount_fen": 100_00},
        headers=env.auth(tokens, **{"Idempotency-Key": "stranger-0001"}),
    )
    assert withdrawal.json()["code"] == "real_name_required"
    refused = await AuditEvent.filter(action="identity.bind_refused").count()
    assert refused == 1


async def test_the_owner_of_the_line_binds_with_the_registered_name(env: Env) -> None:
    tokens = await env.login("13800000008")
    wrong_name = await _bind(env, tokens, "周小敏", ZHOU)
    assert wrong_name.json()["code"] == "identity_mismatch"
    resp = await _bind(env, tokens, " 周敏 ", ZHOU)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id_number"] == "3****************9"
    row = await _row("13800000008")
    assert row.name == "周敏" and row.id_number_index is not None
    bound = await AuditEvent.get(action="identity.bind")
    assert bound.subject_id == str(row.id)


async def test_a_bound_number_cannot_be_replaced_by_its_resident(env: Env) -> None:
    tokens = await env.verified("13800000008", ZHOU)
    before = await _row("13800000008")
    env.sandbox.upstream("population").registry.register_phone("13800000008", WANG)
    other = await _bind(env, tokens, "王建国", WANG)
    assert other.status_code == 409
    assert other.json()["code"] == "identity_locked"
    assert "12345" in other.json()["detail"]
    after = await _row("13800000008")
    assert after.id_number_sealed == before.id_number_sealed and after.name == "周敏"
    # The same binding again is not an error and asks the registry nothing.
    checks = await _registry_checks()
    again = await _bind(env, tokens, "周敏", ZHOU)
    assert again.status_code == 200
    assert await _registry_checks() == checks


async def test_one_id_number_binds_to_one_account(env: Env) -> None:
    registry = env.sandbox.upstream("population").registry
    registry.register_phone("13600000002", ZHOU)  # 周敏 has a second line
    await env.verified("13800000008", ZHOU)
    second = await env.login("13600000002")
    clash = await _bind(env, second, "周敏", ZHOU)
    assert clash.status_code == 409
    assert clash.json()["code"] == "identity_already_bound"
    assert (await _row("13600000002")).id_number_index is None


async def test_registry_down_is_a_503_that_stores_and_charges_nothing(env: Env) -> None:
    tokens = await env.login("13800000008")
    env.sandbox.app[FAULTS].set("population", Fault(kind="error"))
    for _ in range(env.settings.identity_checks_per_account_per_day + 1):
        resp = await _bind(env, tokens, "周敏", ZHOU)
        assert resp.status_code == 503, resp.text
        assert resp.json()["code"] == "upstream_unavailable"
        assert int(resp.headers["retry-after"]) >= 1
    assert (await _row("13800000008")).id_number_index is None
    env.sandbox.app[FAULTS].clear()
    # The breaker may still be open for a moment; once it lets a call through, binding works.
    resp = await _bind(env, tokens, "周敏", ZHOU)
    if resp.status_code == 503:
        env.app.state.services.gateway.breakers["population"].record_success()
        resp = await _bind(env, tokens, "周敏", ZHOU)
    assert resp.status_code == 200, resp.text


async def test_guesses_are_limited_per_account_even_when_sent_at_once(env: Env) -> None:
    tokens = await env.login("13800000008")
    limit = env.settings.identity_checks_per_account_per_day
    guesses = [f"周{c}" for c in "一二三四五六七八九十甲乙丙丁戊己庚辛壬"] + ["周敏"]
    answers = await asyncio.gather(*(_bind(env, tokens, name, ZHOU) for name in guesses))
    codes = [a.json()["code"] for a in answers if a.status_code != 200]
    assert sum(a.status_code == 200 for a in answers) <= 1
    assert codes.count("identity_checks_exhausted") >= len(guesses) - limit
    assert await _registry_checks() <= limit
    exhausted = next(a for a in answers if a.status_code == 429)
    assert int(exhausted.headers["retry-after"]) > 3600
    if (await _row("13800000008")).id_number_index is None:
        # The right answer came too late: it is refused like the rest, for the day.
        late = await _bind(env, tokens, "周敏", ZHOU)
        assert late.json()["code"] == "identity_checks_exhausted"


@pytest.mark.parametrize("settings_overrides", [{"identity_checks_per_ip_per_day": 3}])
async def test_guesses_are_limited_per_client_address(env: Env) -> None:
    answers = []
    for i in range(4):
        tokens = await env.login(f"1360000001{i}")
        answers.append(await _bind(env, tokens, "王建国", WANG))
    assert [a.json()["code"] for a in answers] == ["identity_mismatch"] * 3 + [
        "identity_checks_exhausted"
    ]


async def test_two_bindings_at_once_bind_one_number(env: Env) -> None:
    registry = env.sandbox.upstream("population").registry
    registry.register_phone("13600000003", ZHOU)
    other = "321311195801010019"  # 吴德福; pretend the line is registered to both, in turn
    tokens = await env.login("13600000003")

    async def bind(number: str):
        registry.register_phone("13600000003", number)
        return await _bind(env, tokens, registered_name(number), number)

    # The registry answers one of them "inconsistent" once the phone moved on, or both pass:
    # whatever it says, the account ends with exactly the number its 200 answer showed.
    answers = await asyncio.gather(bind(ZHOU), bind(other), bind(ZHOU), bind(other))
    ok = [a.json() for a in answers if a.status_code == 200]
    assert ok, [a.text for a in answers]
    row = await _row("13600000003")
    assert {p["id_number"] for p in ok} == {ok[0]["id_number"]}
    assert row.id_number_index is not None
    assert all(
        a.json()["code"] in ("identity_locked", "identity_mismatch")
        for a in answers
        if a.status_code != 200
    )


async def _reviewer(env: Env, roles: list[str] | None = None) -> dict[str, Any]:
    await Operator.create(phone="13900000002", name="孙审", roles=roles or ["reviewer"])
    tokens = await env.login("13900000002", portal="operator")
    await env.enrol_totp(tokens)
    return tokens


async def test_a_reviewer_corrects_a_bound_number_with_a_reason(env: Env) -> None:
    # 吴德福's line was bound, by mistake at a service hall, to 周敏's number.
    resident_tokens = await env.verified("13800000009", ZHOU)
    summary = await env.client.get(
        "/api/v1/social-security/summary", headers=env.auth(resident_tokens)
    )
    assert summary.status_code == 200
    cache = env.app.state.services.gateway.cache
    await cache.settle()
    old_key = cache.key_of(
        "social_security", "/gov/v1/social-security/summary", {"id_number": ZHOU}
    )
    assert await cache.get(old_key) is not None

    reviewer = await _reviewer(env)
    found = await env.client.post(
        "/api/v1/admin/residents/search", json={"phone": "13800000009"}, headers=env.auth(reviewer)
    )
    assert found.status_code == 200, found.text
    assert found.json()["phone"] == "138****0009"
    resident_id = found.json()["resident_id"]
    path = f"/api/v1/admin/residents/{resident_id}/identity"
    body = {"name": "吴德福", "id_number": "321311195801010019"}
    no_reason = await env.client.put(path, json=body, headers=env.auth(reviewer))
    assert no_reason.status_code == 422
    fixed = await env.client.put(
        path,
        json={**body, "reason": "窗口核验身份证原件，原绑定号码有误"},
        headers=env.auth(reviewer),
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["id_number"] == "3****************9"
    assert fixed.json()["name"] == "吴德福"

    assert await cache.get(old_key) is None  # nothing read under the old number is shown again
    correction = await IdentityCorrection.get(resident_id=resident_id)
    assert correction.reason.startswith("窗口核验") and correction.old_index != correction.new_index
    # The resident sees who changed their record.
    log = await env.client.get("/api/v1/me/access-log", headers=env.auth(resident_tokens))
    actions = [e["action"] for e in log.json()["events"]]
    # ...and that they were looked up, and their number checked with the registry.
    assert {"identity.correct", "resident.find", "provincial.population.verify"} <= set(actions)


async def test_only_reviewers_correct_numbers(env: Env) -> None:
    resident = await env.verified("13800000008", ZHOU)
    me = await env.client.get("/api/v1/me", headers=env.auth(resident))
    path = f"/api/v1/admin/residents/{me.json()['id']}/identity"
    body = {"name": "王建国", "id_number": WANG, "reason": "我想换一个号码"}
    assert (await env.client.put(path, json=body, headers=env.auth(resident))).status_code == 403
    auditor = await _reviewer(env, roles=["auditor"])
    assert (await env.client.put(path, json=body, headers=env.auth(auditor))).status_code == 403
    assert (await _row("13800000008")).name == "周敏"


async def test_a_correction_to_a_mismatching_name_changes_nothing(env: Env) -> None:
    await env.verified("13800000008", ZHOU)
    reviewer = await _reviewer(env)
    row = await _row("13800000008")
    resp = await env.client.put(
        f"/api/v1/admin/residents/{row.id}/identity",
        json={"name": "张三", "id_number": WANG, "reason": "证件核验后更正"},
        headers=env.auth(reviewer),
    )
    assert resp.json()["code"] == "identity_mismatch"
    assert (await _row("13800000008")).id_number_sealed == row.id_number_sealed
    assert not await IdentityCorrection.exists()
