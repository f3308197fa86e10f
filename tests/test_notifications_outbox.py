"""The outbox and the inbox: written with the change that causes them, once per key, read by
the person they are for (or a relative they let), in their language; the rules of when a
phone may ring."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from notifications import rules
from notifications.models import Delivery, Notification
from tests.conftest import Env

WANG = "321302198201150138"
LI = "321311195208210247"


async def _account(env: Env, tokens: dict[str, Any]) -> str:
    me = await env.client.get("/api/v1/me", headers=env.auth(tokens))
    return me.json()["id"]


async def test_a_key_written_twice_is_one_message_and_a_rollback_writes_none(env: Env) -> None:
    tokens = await env.login("13800000005")
    account = await _account(env, tokens)
    outbox = env.app.state.services.outbox
    args = (account, "service_status", "notifications.digest", {"day": "2026-11-28"})
    assert await outbox.notify(*args, "k-1") is True
    assert await outbox.notify(*args, "k-1") is False  # a retry of the same cause
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await outbox.notify(*args, "k-2")
            raise RuntimeError("the business change failed")
    assert await Notification.filter(recipient_id=account).count() == 1
    # The key clash did not spoil the caller's transaction (PostgreSQL aborts on an error).
    async with in_transaction():
        assert await outbox.notify(*args, "k-1") is False
        assert await outbox.notify(*args, "k-3") is True
    assert await Notification.filter(recipient_id=account).count() == 2


async def test_the_inbox_reads_in_the_readers_language_unread_first(env: Env) -> None:
    tokens = await env.login("13800000005")
    account = await _account(env, tokens)
    outbox = env.app.state.services.outbox
    for i in range(3):
        await outbox.notify(
            account, "service_status", "notifications.digest", {"day": f"11-2{i}"}, f"d{i}"
        )
    first = (await env.client.get("/api/v1/notifications", headers=env.auth(tokens))).json()
    assert (first["total"], first["unread"]) == (3, 3)
    assert first["items"][0]["title"] == "您有更多消息"
    oldest = first["items"][-1]["id"]
    read = await env.client.post(f"/api/v1/notifications/{oldest}/read", headers=env.auth(tokens))
    assert read.json()["read"] is True
    badge = await env.client.get("/api/v1/notifications/unread-count", headers=env.auth(tokens))
    assert badge.json() == {"unread": 2}
    english = await env.client.get(
        "/api/v1/notifications",
        params={"page_size": 1, "page": 3},
        headers=env.auth(tokens, **{"Accept-Language": "en"}),
    )
    page = english.json()
    assert page["items"][0]["title"] == "More messages for you"
    assert page["items"][0]["read"] is True  # the read one sorts last
    marked = await env.client.post("/api/v1/notifications/read-all", headers=env.auth(tokens))
    assert marked.json() == {"marked": 2}


async def test_nobody_reads_or_marks_another_residents_messages(env: Env) -> None:
    wang = await env.login("13800000005")
    li = await env.login("13800000007")
    outbox = env.app.state.services.outbox
    await outbox.notify(
        await _account(env, li), "security", "notifications.digest", {"day": "x"}, "li-1"
    )
    theirs = await Notification.get(idempotency_key="li-1")
    mark = await env.client.post(f"/api/v1/notifications/{theirs.id}/read", headers=env.auth(wang))
    assert mark.status_code == 404
    inbox = await env.client.get("/api/v1/notifications", headers=env.auth(wang))
    assert inbox.json()["total"] == 0
    acting = env.auth(wang, **{"X-Act-As": await _account(env, li)})
    denied = await env.client.get("/api/v1/notifications", headers=acting)
    assert denied.json()["code"] == "delegation_denied"
    assert (await Notification.get(id=theirs.id)).read_at is None


async def test_security_cannot_be_switched_off_and_other_choices_stick(env: Env) -> None:
    tokens = await env.login("13800000005")
    off = {"items": [{"category": "security", "channel": "sms", "enabled": False}]}
    refused = await env.client.put(
        "/api/v1/notification-preferences", json=off, headers=env.auth(tokens)
    )
    assert refused.status_code == 422 and refused.json()["code"] == "preference_locked"
    quiet = {"items": [{"category": "announcement", "channel": "push", "enabled": False}]}
    saved = await env.client.put(
        "/api/v1/notification-preferences", json=quiet, headers=env.auth(tokens)
    )
    items = {(i["category"], i["channel"]): i for i in saved.json()["items"]}
    assert items[("announcement", "push")]["enabled"] is False
    assert items[("security", "sms")] == {
        "category": "security",
        "channel": "sms",
        "enabled": True,
        "locked": True,
    }


async def test_a_signed_out_phone_stops_receiving_pushes(env: Env) -> None:
    tokens = await env.login("13800000005")
    device = {"token": "fcm-token-" + "a" * 40, "platform": "android"}
    registered = await env.client.post("/api/v1/devices", json=device, headers=env.auth(tokens))
    assert registered.status_code == 201
    account = await _account(env, tokens)
    recipient = await rules_recipient(env, account)
    assert recipient.has_device
    await env.client.post("/api/v1/auth/logout", headers=env.auth(tokens))
    assert not (await rules_recipient(env, account)).has_device


async def rules_recipient(env: Env, account: str) -> rules.Recipient:
    from app_api.notices import recipients

    return (await recipients([account]))[account]


def _recipient(**kwargs: Any) -> rules.Recipient:
    return rules.Recipient(account_id=str(uuid.uuid4()), phone="13800000005", **kwargs)


@pytest.mark.parametrize(
    ("elderly", "local_time", "waits_until"),
    [
        (False, "21:30", None),
        (False, "22:30", "07:00"),
        (False, "06:59", "07:00"),
        (True, "21:30", "08:00"),
        (True, "07:30", "08:00"),
        (True, "08:00", None),
    ],
)
def test_quiet_hours_hold_normal_messages_until_morning(
    elderly: bool, local_time: str, waits_until: str | None
) -> None:
    recipient = _recipient(elderly=elderly)
    hour, minute = map(int, local_time.split(":"))
    now = datetime(2026, 11, 28, hour, minute, tzinfo=rules.CHINA).astimezone(UTC)
    at = rules.send_at(now, recipient, "policy", "normal")
    shown = at.astimezone(rules.CHINA).strftime("%H:%M")
    assert (None if at == now else shown) == waits_until
    assert rules.send_at(now, recipient, "security", "normal") == now
    assert rules.send_at(now, recipient, "policy", "urgent") == now


def test_sms_reaches_people_without_a_phone_app_and_urgent_messages_everyone() -> None:
    no_app = _recipient(has_device=False)
    with_app = _recipient(has_device=True)
    assert rules.channels_for(no_app, "policy", "normal") == {"sms"}
    assert rules.channels_for(with_app, "policy", "normal") == {"push"}
    assert rules.channels_for(with_app, "service_status", "urgent") == {"push", "sms"}
    muted = _recipient(has_device=True, preferences={("policy", "push"): False})
    assert rules.channels_for(muted, "policy", "normal") == set()
    muted_security = _recipient(has_device=True, preferences={("security", "push"): False})
    assert rules.channels_for(muted_security, "security", "normal") == {"push", "sms"}


async def test_over_the_daily_cap_policy_messages_wait_for_one_digest(env: Env) -> None:
    tokens = await env.login("13800000005")
    account = await _account(env, tokens)
    outbox = env.app.state.services.outbox
    cap = env.settings.notification_daily_cap
    for i in range(cap + 2):
        await outbox.notify(account, "policy", "notifications.digest", {"day": "x"}, f"p{i}")
    held = await Delivery.filter(notification__recipient_id=account, error="digest").count()
    assert held == 2
    digests = await Notification.filter(recipient_id=account, template="notifications.digest")
    digest = [n for n in digests if n.idempotency_key.startswith("digest:")]
    assert len(digest) == 1  # one digest however many were held back
    (delivery,) = await Delivery.filter(notification_id=digest[0].id)
    assert delivery.not_before.astimezone(rules.CHINA).strftime("%H:%M") == "07:00"


async def _elder_and_son(env: Env) -> tuple[dict[str, Any], dict[str, Any], str]:
    """李秀英 and her son 王建国, whom she lets receive her notifications; and her id."""
    elder = await env.login("13800000007")
    son = await env.login("13800000005")
    grant = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000005", "scopes": ["receive_notifications"], "days": 30},
        headers=env.auth(elder),
    )
    return elder, son, grant.json()["grantor_id"]


async def test_a_relative_the_elder_chose_also_gets_her_urgent_messages(env: Env) -> None:
    _, son, elder_id = await _elder_and_son(env)
    stranger = await env.login("13800000009")
    outbox = env.app.state.services.outbox
    args = (elder_id, "service_status", "notifications.digest", {"day": "x"})
    await outbox.notify(*args, "urgent-1", priority="urgent")
    await outbox.notify(*args, "normal-1")  # not urgent: hers alone
    copies = (await env.client.get("/api/v1/notifications", headers=env.auth(son))).json()
    assert [m["on_behalf_of"] for m in copies["items"]] == [elder_id]
    assert (await env.client.get("/api/v1/notifications", headers=env.auth(stranger))).json()[
        "total"
    ] == 0
    # ...and with the scope he may open her inbox too.
    hers = await env.client.get(
        "/api/v1/notifications", headers=env.auth(son, **{"X-Act-As": elder_id})
    )
    assert hers.json()["total"] == 2


async def test_what_a_relative_does_in_her_inbox_is_in_her_access_log_and_leaves_her_alerts(
    env: Env,
) -> None:
    elder, son, elder_id = await _elder_and_son(env)
    outbox = env.app.state.services.outbox
    for key, category in (("a", "service_status"), ("b", "security"), ("c", "service_status")):
        await outbox.notify(elder_id, category, "notifications.digest", {"day": "x"}, key)
    acting = env.auth(son, **{"X-Act-As": elder_id})
    listed = (await env.client.get("/api/v1/notifications?order=newest", headers=acting)).json()
    newest = listed["items"][0]["id"]
    await outbox.notify(elder_id, "service_status", "notifications.digest", {"day": "y"}, "d")
    await env.client.get("/api/v1/notifications/unread-count", headers=acting)
    await env.client.post(f"/api/v1/notifications/{newest}/read", headers=acting)
    marked = await env.client.post(
        "/api/v1/notifications/read-all", params={"up_to": newest}, headers=acting
    )
    # One of the two older ones: not the security alert (hers to see), not the one that
    # arrived after he looked (he never saw it).
    assert marked.json() == {"marked": 1}
    badge = await env.client.get("/api/v1/notifications/unread-count", headers=env.auth(elder))
    assert badge.json() == {"unread": 2}
    log = (await env.client.get("/api/v1/me/access-log", headers=env.auth(elder))).json()
    actions = {e["action"] for e in log["events"] if e["actor_id"] != elder_id}
    assert {
        "notifications.list",
        "notifications.unread_count",
        "notifications.read",
        "notifications.read_all",
    } <= actions
    unknown = await env.client.post(
        "/api/v1/notifications/read-all", params={"up_to": str(uuid.uuid4())}, headers=acting
    )
    assert unknown.status_code == 404


async def test_the_same_phone_registered_twenty_times_at_once_is_one_device(env: Env) -> None:
    tokens = await env.login("13800000005")
    device = {"token": "fcm-same-phone-" + "s" * 40, "platform": "android"}
    answers = await asyncio.gather(
        *(
            env.client.post("/api/v1/devices", json=device, headers=env.auth(tokens))
            for _ in range(20)
        )
    )
    assert {a.status_code for a in answers} == {201}
    (device_id,) = {a.json()["id"] for a in answers}  # every answer names the one device
    gone = await env.client.delete(f"/api/v1/devices/{device_id}", headers=env.auth(tokens))
    assert gone.status_code == 204


async def test_operators_see_a_campaigns_counts_and_nobody_else_does(env: Env) -> None:
    from app_api.identity.models import Operator

    tokens = await env.login("13800000005")
    account = await _account(env, tokens)
    outbox = env.app.state.services.outbox
    await outbox.notify(
        account, "security", "notifications.digest", {"day": "x"}, "c1", campaign="policy-42"
    )
    await Operator.create(phone="13900000042", name="发布员", roles=["policy_publisher"])
    publisher = await env.login("13900000042", portal="operator")
    await env.enrol_totp(publisher)
    path = "/api/v1/admin/notification-campaigns/policy-42"
    assert (await env.client.get(path, headers=env.auth(tokens))).status_code == 403
    counts = (await env.client.get(path, headers=env.auth(publisher))).json()
    assert (counts["notifications"], counts["read"]) == (1, 0)
    too_long = await env.client.get(f"{path}{'x' * 300}", headers=env.auth(publisher))
    assert (too_long.status_code, too_long.json()["code"]) == (404, "not_found")
    sms = next(c for c in counts["channels"] if c["channel"] == "sms")
    assert sms["pending"] == 1
