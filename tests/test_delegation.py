"""亲情代办: a relative acts for an elder only within granted scopes, until expiry or revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app_api.audit.chain import AuditEvent
from app_api.identity.models import Delegation
from tests.conftest import Env

ELDER, CHILD, STRANGER = "13500000001", "13500000002", "13500000003"


async def _family(env: Env) -> tuple[dict, dict]:
    elder = await env.login(ELDER)
    child = await env.login(CHILD)
    return elder, child


async def _grant(env: Env, elder: dict, scopes: list[str], days: int = 30) -> dict:
    resp = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": CHILD, "scopes": scopes, "days": days, "relationship": "child"},
        headers=env.auth(elder),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_relative_reads_the_elders_profile_within_scope(env: Env) -> None:
    elder, child = await _family(env)
    grant = await _grant(env, elder, ["view_profile"])
    assert grant["active"] is True
    assert grant["grantee_phone"] == "135****0002"
    assert grant["scopes"][0]["label"] == "查看我的个人信息"
    elder_id = elder["account"]["id"]
    resp = await env.client.get(
        "/api/v1/profile", headers=env.auth(child, **{"X-Act-As": elder_id})
    )
    assert resp.status_code == 200
    assert resp.json()["resident_id"] == elder_id
    # The read is audited as the child acting for the elder, and the elder can see it.
    event = await AuditEvent.filter(action="profile.read").order_by("-seq").first()
    assert event.actor_id == child["account"]["id"] and event.subject_id == elder_id
    log = await env.client.get("/api/v1/me/access-log", headers=env.auth(elder))
    assert any(
        e["action"] == "profile.read" and e["actor_id"] == child["account"]["id"]
        for e in log.json()["events"]
    )


async def test_out_of_scope_is_denied(env: Env) -> None:
    elder, child = await _family(env)
    await _grant(env, elder, ["receive_notifications"])
    resp = await env.client.get(
        "/api/v1/profile", headers=env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "delegation_denied"


async def test_no_grant_or_a_stranger_is_denied(env: Env) -> None:
    elder, _ = await _family(env)
    stranger = await env.login(STRANGER)
    for act_as in (elder["account"]["id"], "not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        resp = await env.client.get(
            "/api/v1/profile", headers=env.auth(stranger, **{"X-Act-As": act_as})
        )
        assert resp.status_code == 403
        assert resp.json()["code"] == "delegation_denied"


async def test_routes_without_a_scope_refuse_act_as(env: Env) -> None:
    elder, child = await _family(env)
    await _grant(env, elder, ["view_profile"])
    resp = await env.client.get(
        "/api/v1/delegations", headers=env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "delegation_denied"


async def test_expired_grant_is_denied(env: Env) -> None:
    elder, child = await _family(env)
    grant = await _grant(env, elder, ["view_profile"])
    await Delegation.filter(id=grant["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    resp = await env.client.get(
        "/api/v1/profile", headers=env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    )
    assert resp.status_code == 403
    listing = await env.client.get("/api/v1/delegations", headers=env.auth(elder))
    assert listing.json()["granted"][0]["active"] is False


async def test_revocation_takes_effect_immediately_and_either_side_may_end_it(env: Env) -> None:
    elder, child = await _family(env)
    headers = env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    grant = await _grant(env, elder, ["view_profile"])
    assert (await env.client.get("/api/v1/profile", headers=headers)).status_code == 200
    revoked = await env.client.delete(f"/api/v1/delegations/{grant['id']}", headers=env.auth(elder))
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert (await env.client.get("/api/v1/profile", headers=headers)).status_code == 403
    second = await _grant(env, elder, ["view_profile"])
    declined = await env.client.delete(
        f"/api/v1/delegations/{second['id']}", headers=env.auth(child)
    )
    assert declined.status_code == 200
    assert (await env.client.get("/api/v1/profile", headers=headers)).status_code == 403


async def test_strangers_cannot_see_or_revoke_a_grant(env: Env) -> None:
    elder, _ = await _family(env)
    grant = await _grant(env, elder, ["view_profile"])
    stranger = await env.login(STRANGER)
    resp = await env.client.delete(f"/api/v1/delegations/{grant['id']}", headers=env.auth(stranger))
    assert resp.status_code == 404
    assert (await Delegation.get(id=grant["id"])).revoked_at is None


async def test_bad_grants_are_refused_and_nothing_is_written(env: Env) -> None:
    elder, _ = await _family(env)
    cases = [
        ({"relative_phone": CHILD, "scopes": ["launch_missiles"]}, "delegation_invalid"),
        ({"relative_phone": CHILD, "scopes": []}, "validation_failed"),
        ({"relative_phone": CHILD, "scopes": ["view_profile"], "days": 0}, "validation_failed"),
        ({"relative_phone": CHILD, "scopes": ["view_profile"], "days": 366}, "validation_failed"),
        ({"relative_phone": "12345", "scopes": ["view_profile"]}, "phone_invalid"),
        ({"relative_phone": ELDER, "scopes": ["view_profile"]}, "delegation_invalid"),
    ]
    for body, code in cases:
        resp = await env.client.post("/api/v1/delegations", json=body, headers=env.auth(elder))
        assert resp.json()["code"] == code, (body, resp.text)
    assert await Delegation.all().count() == 0


async def test_scopes_are_listed_with_labels(env: Env) -> None:
    elder, _ = await _family(env)
    resp = await env.client.get(
        "/api/v1/delegations/scopes", headers=env.auth(elder, **{"Accept-Language": "en"})
    )
    scopes = {s["scope"]: s["label"] for s in resp.json()}
    assert scopes["view_profile"] == "See my profile"
