"""Auditors read the whole audit log, filtered and paged; residents only their own access log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app_api.identity.models import Operator
from tests.conftest import Env

AUDITOR_PHONE = "13900008888"
EVENTS = "/api/v1/audit/events"


@pytest.fixture
async def auditor(env: Env) -> dict[str, Any]:
    """An auditor signed in at the second factor."""
    await Operator.create(phone=AUDITOR_PHONE, name="审计员", roles=["auditor"])
    tokens = await env.login(AUDITOR_PHONE, portal="operator")
    await env.enrol_totp(tokens)
    return tokens


async def _residents_act(env: Env) -> tuple[str, str]:
    """Two residents sign in, and the first reads her profile; returns both account ids."""
    first = await env.login("13400000011")
    second = await env.login("13400000012")
    await env.client.get("/api/v1/profile", headers=env.auth(first))
    return first["account"]["id"], second["account"]["id"]


async def _events(env: Env, tokens: dict[str, Any], **query: Any) -> dict[str, Any]:
    resp = await env.client.get(EVENTS, params=query, headers=env.auth(tokens))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_an_auditor_sees_every_residents_events_filtered(
    env: Env, auditor: dict[str, Any]
) -> None:
    first, second = await _residents_act(env)
    everything = await _events(env, auditor)
    subjects = {e["subject_id"] for e in everything["items"]}
    assert {first, second} <= subjects  # not only the auditor's own events

    about_first = await _events(env, auditor, subject_id=first)
    assert [e["action"] for e in about_first["items"]] == ["auth.login", "profile.read"]
    assert about_first["total"] == 2

    by_second = await _events(env, auditor, actor_id=second)
    assert [(e["action"], e["subject_id"]) for e in by_second["items"]] == [("auth.login", second)]

    reads = await _events(env, auditor, action="profile.read")
    assert [e["actor_id"] for e in reads["items"]] == [first]

    both = await _events(env, auditor, subject_id=first, action="auth.login")
    assert [e["actor_id"] for e in both["items"]] == [first]


async def test_time_range_is_timezone_aware_and_half_open(
    env: Env, auditor: dict[str, Any]
) -> None:
    await _residents_act(env)
    everything = (await _events(env, auditor))["items"]
    assert len(everything) >= 4
    pivot = datetime.fromisoformat(everything[2]["at"])
    later = [e["seq"] for e in everything if datetime.fromisoformat(e["at"]) >= pivot]
    earlier = [e["seq"] for e in everything if datetime.fromisoformat(e["at"]) < pivot]
    # The same instant written in Beijing time selects the same events.
    beijing = pivot.astimezone(timezone(timedelta(hours=8))).isoformat()
    since = await _events(env, auditor, **{"from": beijing, "page_size": 100})
    assert [e["seq"] for e in since["items"] if e["seq"] in later + earlier] == later
    until = await _events(env, auditor, to=beijing)
    assert [e["seq"] for e in until["items"]] == earlier


async def test_a_time_that_names_no_instant_is_refused(env: Env, auditor: dict[str, Any]) -> None:
    for name, value in (("from", "2026-05-01T08:00:00"), ("to", "0.5")):  # no offset; a number
        resp = await env.client.get(EVENTS, params={name: value}, headers=env.auth(auditor))
        assert resp.status_code == 422, value
        assert resp.json()["code"] == "validation_failed"
        assert resp.json()["errors"][0]["field"] == name


async def test_the_log_is_paged(env: Env, auditor: dict[str, Any]) -> None:
    for n in range(13, 17):
        await env.login(f"134000000{n}")
    # Sign-ins only: the auditor's own reads of the log, recorded as it pages, do not shift it.
    logins = await _events(env, auditor, action="auth.login")
    total = logins["total"]
    assert total == 5  # the auditor's and four residents'
    seen: list[int] = []
    for page in (1, 2, 3):
        body = await _events(env, auditor, action="auth.login", page=page, page_size=2)
        assert (body["page"], body["page_size"], body["total"]) == (page, 2, total)
        seen += [e["seq"] for e in body["items"]]
    assert seen == [e["seq"] for e in logins["items"]]


async def test_the_filters_are_in_the_openapi_document(env: Env) -> None:
    operation = env.app.openapi_schema.to_schema()["paths"][EVENTS]["get"]
    names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"subject_id", "actor_id", "action", "from", "to", "page", "page_size"} <= names


async def test_a_resident_sees_only_their_own_access_log(env: Env) -> None:
    first = await env.login("13400000011")
    second = await env.login("13400000012")
    await env.client.get("/api/v1/profile", headers=env.auth(first))
    mine = await env.client.get("/api/v1/me/access-log", headers=env.auth(second))
    assert mine.status_code == 200
    assert {e["subject_id"] for e in mine.json()["events"]} == {second["account"]["id"]}
    assert (await env.client.get(EVENTS, headers=env.auth(second))).status_code == 403
