"""Nobody learns who uses the app, or who works for the city, from the answers it gives."""

from __future__ import annotations

from app_api.identity.models import Delegation, Operator, Resident
from tests.conftest import Env

OPERATOR = "13900008888"
NOBODY = "13900007777"


async def test_the_operator_portal_answers_alike_for_operator_and_other_phones(env: Env) -> None:
    await Operator.create(phone=OPERATOR, name="审核员", roles=["reviewer"])
    answers = []
    for phone in (OPERATOR, NOBODY):
        resp = await env.client.post(
            "/api/v1/auth/login", json={"phone": phone, "code": "123456", "portal": "operator"}
        )
        answers.append((resp.status_code, resp.json()["code"], resp.json()["detail"]))
    assert answers[0] == answers[1] == (401, answers[0][1], answers[0][2])
    assert answers[0][1] == "otp_expired"
    # With a code sent to each phone, a wrong guess gets the same answer too.
    wrong = []
    for phone in (OPERATOR, NOBODY):
        code = await env.request_code(phone)
        resp = await env.client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": f"{(int(code) + 1) % 10**6:06d}", "portal": "operator"},
        )
        wrong.append((resp.status_code, resp.json()["code"], resp.json()["detail"]))
    assert wrong[0] == wrong[1] and wrong[0][1] == "otp_invalid"


async def test_granting_to_a_phone_with_or_without_an_account_looks_the_same(env: Env) -> None:
    elder = await env.login("13500000011")
    await env.login("13500000012")  # has an account
    answers = []
    for phone in ("13500000012", "13500000013"):  # the second has never signed in
        resp = await env.client.post(
            "/api/v1/delegations",
            json={"relative_phone": phone, "scopes": ["view_profile"], "relationship": "child"},
            headers=env.auth(elder),
        )
        body = resp.json()
        answers.append((resp.status_code, sorted(body), body["active"]))
    assert answers[0] == answers[1] == (201, answers[0][1], True)


async def test_a_relative_who_signs_in_later_finds_the_delegation_waiting(env: Env) -> None:
    elder = await env.login("13500000021")
    resp = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13500000022", "scopes": ["view_profile"]},
        headers=env.auth(elder),
    )
    assert resp.status_code == 201
    relative = await env.login("13500000022")
    received = await env.client.get("/api/v1/delegations", headers=env.auth(relative))
    assert [d["id"] for d in received.json()["received"]] == [resp.json()["id"]]
    profile = await env.client.get(
        "/api/v1/profile", headers=env.auth(relative, **{"X-Act-As": elder["account"]["id"]})
    )
    assert profile.status_code == 200
    assert await Resident.filter(phone="13500000022").count() == 1
    assert await Delegation.all().count() == 1


async def test_grants_are_bounded_per_day_so_they_cannot_mass_create_accounts(env: Env) -> None:
    elder = await env.login("13500000031")
    limit = env.settings.delegations_per_account_per_day
    statuses = []
    for i in range(limit + 2):
        resp = await env.client.post(
            "/api/v1/delegations",
            json={"relative_phone": f"1350001{i:04d}", "scopes": ["view_profile"]},
            headers=env.auth(elder),
        )
        statuses.append(resp.status_code)
    assert statuses == [201] * limit + [429, 429]
    assert "retry-after" in resp.headers
    assert await Resident.filter(phone__startswith="1350001").count() == limit
