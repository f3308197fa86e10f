"""The dispatcher against the sandbox's SMS gateway, through the real SMS client: each message
sent once however many dispatchers run, nothing lost when one dies mid-batch, quiet hours
kept, a failing gateway retried."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tortoise.transactions import in_transaction

from app_api.identity.models import Resident
from integrations.sandbox import FCM, SMS
from integrations.sandbox.fcm import TokenAnswer
from integrations.signing import signed_headers
from notifications import rules
from notifications.addressed import Addressed
from notifications.dispatcher import Ledger
from notifications.models import Delivery, Device, Notification
from tests.conftest import Clock, Env


async def _residents(env: Env, count: int) -> list[str]:
    ids = []
    for i in range(count):
        tokens = await env.login(f"1390000{i:04d}")
        ids.append((await env.client.get("/api/v1/me", headers=env.auth(tokens))).json()["id"])
    return ids


async def _notify(env: Env, accounts: list[str], category: str = "security", **kw: str) -> None:
    outbox = env.app.state.services.outbox
    for account in accounts:
        await outbox.notify(
            account, category, "notifications.digest", {"day": "28日"}, f"n:{account}", **kw
        )


def _texts(env: Env) -> list[dict]:
    return [m for m in env.sandbox.app[SMS].outbox if m["template"] == "NOTICE"]


async def test_two_dispatchers_at_once_send_each_message_once(env: Env) -> None:
    accounts = await _residents(env, 12)
    await _notify(env, accounts)
    clock = Clock(datetime.now(UTC))
    first, second = env.dispatcher(clock, batch=5), env.dispatcher(clock, batch=5)
    worked = await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    assert sum(worked) == 12  # every delivery claimed by exactly one of them
    sent = _texts(env)
    assert sorted(m["phone"] for m in sent) == sorted(f"1390000{i:04d}" for i in range(12))
    assert sent[0]["text"] == "【宿迁城市通】您有一条新消息：您有更多消息。请打开城市通查看。"
    rows = await Delivery.filter(channel="sms")
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    assert {str(r.id) for r in rows} == {m["request_id"] for m in sent}


async def test_a_dispatcher_killed_mid_batch_loses_nothing_and_repeats_nothing(
    env: Env,
) -> None:
    accounts = await _residents(env, 4)
    await _notify(env, accounts)
    clock = Clock(datetime.now(UTC))
    dying = env.dispatcher(clock, lease_s=60)
    claimed = await dying.claim()  # ...and the process is killed before it records anything
    assert len(claimed) == 4
    # It had already sent two of them when it died, and written nothing back.
    ledger = Ledger(clock())
    items = await dying._outgoing(claimed[:2], ledger)
    await dying._send(dying.channels["sms"], items, ledger)  # the channel call, cut short
    survivor = env.dispatcher(clock)
    assert await survivor.run_until_idle() == 0  # its leases still hold
    clock.now += timedelta(seconds=61)
    assert await survivor.run_until_idle() == 4  # nothing was recorded as done
    # Four people, four messages: none lost, and the two sent again carried the same
    # request_id, which the gateway does not send twice.
    assert len(_texts(env)) == 4
    assert {r.status for r in await Delivery.filter(channel="sms")} == {"sent"}


async def test_normal_messages_wait_for_the_morning(env: Env) -> None:
    (account,) = await _residents(env, 1)
    night = datetime(2026, 11, 28, 23, 30, tzinfo=rules.CHINA)
    env.app.state.services.outbox._clock = lambda: night.astimezone(UTC)
    await _notify(env, [account], category="service_status")
    clock = Clock(night.astimezone(UTC))
    dispatcher = env.dispatcher(clock)
    assert await dispatcher.run_until_idle() == 0
    clock.now = datetime(2026, 11, 29, 7, 0, tzinfo=rules.CHINA).astimezone(UTC)
    assert await dispatcher.run_until_idle() == 1
    assert len(_texts(env)) == 1


async def test_a_failing_gateway_is_tried_again_later(env: Env) -> None:
    (account,) = await _residents(env, 1)
    await _notify(env, [account])
    async with httpx.AsyncClient(base_url=env.sandbox.url) as sandbox:
        await sandbox.put("/admin/faults/sms", json={"kind": "error"})
        clock = Clock(datetime.now(UTC))
        dispatcher = env.dispatcher(clock)
        assert await dispatcher.run_once() == 1
        (row,) = await Delivery.filter(channel="sms")
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.not_before > clock.now
        await sandbox.delete("/admin/faults")
    assert await dispatcher.run_once() == 0  # not before its back-off
    clock.now = row.not_before + timedelta(seconds=1)
    assert await dispatcher.run_once() == 1
    (row,) = await Delivery.filter(channel="sms")
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(_texts(env)) == 1


async def test_pushes_reach_each_device_and_a_dead_token_is_forgotten(env: Env) -> None:
    tokens = await env.login("13900000001")
    account = (await env.client.get("/api/v1/me", headers=env.auth(tokens))).json()["id"]
    phones = ["fcm-live-" + "a" * 40, "fcm-gone-" + "b" * 40]
    for token in phones:
        registered = await env.client.post(
            "/api/v1/devices",
            json={"token": token, "platform": "android"},
            headers=env.auth(tokens),
        )
        assert registered.status_code == 201
    env.sandbox.app[FCM].answer_for(phones[1], TokenAnswer(error="UNREGISTERED"))
    noon = datetime(2026, 11, 28, 12, 0, tzinfo=rules.CHINA).astimezone(UTC)
    env.app.state.services.outbox._clock = lambda: noon
    await _notify(env, [account], category="policy")  # a device: push, and no SMS
    dispatcher = env.dispatcher(Clock(noon))
    assert await dispatcher.run_until_idle() == 1
    pushed = list(env.sandbox.app[FCM].outbox)
    assert [m["message"]["token"] for m in pushed] == [phones[0]]
    (row,) = await Delivery.filter(channel="push")
    assert row.status == "sent"
    assert pushed[0]["message"]["data"]["superapp_delivery"].startswith(str(row.id))
    assert await Delivery.filter(channel="sms").count() == 0
    remaining = await Device.filter(account_id=account).values_list("token", flat=True)
    assert remaining == [phones[0]]  # FCM said the other app is gone: no more sends to it


async def test_a_signed_receipt_marks_the_text_delivered_and_a_forged_one_nothing(
    env: Env,
) -> None:
    (account,) = await _residents(env, 1)
    await _notify(env, [account])
    await env.dispatcher(Clock(datetime.now(UTC))).run_until_idle()
    (row,) = await Delivery.filter(channel="sms")
    path = "/api/v1/callbacks/sms-receipts"
    receipt = {
        "message_id": row.provider_message_id,
        "request_id": str(row.id),
        "status": "DELIVRD",
        "done_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(receipt).encode()
    forged = signed_headers("sandbox-sms-gateway", "not-the-secret", "POST", path, {}, body)
    refused = await env.client.post(
        path, content=body, headers={**forged, "Content-Type": "application/json"}
    )
    assert refused.status_code == 403
    assert (await Delivery.get(id=row.id)).status == "sent"
    cfg = env.settings
    genuine = signed_headers(cfg.sms_receipt_app_id, cfg.sms_receipt_secret, "POST", path, {}, body)
    taken = await env.client.post(
        path, content=body, headers={**genuine, "Content-Type": "application/json"}
    )
    assert taken.status_code == 204
    assert (await Delivery.get(id=row.id)).status == "delivered"
    stranger = await env.client.post(path, content=b"", headers={"Content-Type": "text/plain"})
    assert stranger.status_code == 403  # unsigned: told nothing about the format
    as_text = await env.client.post(
        path, content=body, headers={**genuine, "Content-Type": "text/plain"}
    )
    assert (as_text.status_code, as_text.json()["code"]) == (415, "unsupported_media_type")
    garbled = b"\xff\xfe not json"
    signed = signed_headers(
        cfg.sms_receipt_app_id, cfg.sms_receipt_secret, "POST", path, {}, garbled
    )
    malformed = await env.client.post(
        path, content=garbled, headers={**signed, "Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "body_malformed")


NOON = datetime(2026, 11, 28, 12, 0, tzinfo=rules.CHINA).astimezone(UTC)


async def _people(count: int) -> list[str]:
    """Residents written straight to the database (logging in 1,201 people would be the
    test); every other one has the app on a phone."""
    rows = [Resident(id=uuid.uuid4(), phone=f"1370000{i:04d}") for i in range(count)]
    await Resident.bulk_create(rows)
    await Device.bulk_create(
        [
            Device(
                id=uuid.uuid4(),
                account_id=r.id,
                token=f"fcm-bulk-{i:05d}-{'x' * 30}",
                platform="android",
            )
            for i, r in enumerate(rows)
            if i % 2 == 0
        ]
    )
    return [str(r.id) for r in rows]


async def test_one_message_to_many_reaches_each_once_on_their_own_channel(env: Env) -> None:
    env.app.state.services.outbox._clock = lambda: NOON
    people = await _people(1_201)  # more than one round of the outbox and of the dispatcher
    outbox = env.app.state.services.outbox
    to = [Addressed(p, f"bulk:{p}", {"day": f"第{i}天"}) for i, p in enumerate(people)]
    args = ("policy", "notifications.digest", {"day": "shared"})
    assert await outbox.notify_many(to[:700], *args, campaign="bulk") == 700
    # The sender died and ran again from the top: only the rest is new.
    assert await outbox.notify_many(to, *args, campaign="bulk") == 501
    assert await Notification.filter(campaign="bulk").count() == 1_201
    assert await env.dispatcher(Clock(NOON), batch=500).run_until_idle() == 1_201
    pushed = [m["message"] for m in env.sandbox.app[FCM].outbox]
    texts = _texts(env)
    assert len(pushed) == 601 and len(texts) == 600  # the app if they have it, else a text
    assert {m["token"][9:14] for m in pushed} == {f"{i:05d}" for i in range(0, 1_201, 2)}
    # Each in their own words: the 8th person's own day, not the shared one.
    eighth = next(m for m in pushed if m["token"].startswith("fcm-bulk-00008"))
    assert "第8天" in eighth["notification"]["body"]
    assert "第7天" in next(t["params"]["body"] for t in texts if t["phone"] == "13700000007")
    rows = await Delivery.all()
    assert len(rows) == 1_201 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}


async def test_a_bulk_send_refuses_a_key_given_twice_and_writes_nothing(env: Env) -> None:
    (account,) = await _people(1)
    outbox = env.app.state.services.outbox
    twice = [Addressed(account, "same"), Addressed(account, "same")]
    with pytest.raises(ValueError, match="given twice"):
        await outbox.notify_many(twice, "policy", "notifications.digest", {"day": "x"})
    with pytest.raises(ValueError, match="at most 114 characters"):
        await outbox.notify_many(
            [Addressed(account, "k" * 115)], "policy", "notifications.digest", {"day": "x"}
        )
    assert await Notification.all().count() == 0


async def test_the_daily_cap_holds_when_many_senders_write_at_once(env: Env) -> None:
    env.app.state.services.outbox._clock = lambda: NOON
    (account,) = await _people(1)
    outbox = env.app.state.services.outbox
    cap = env.settings.notification_daily_cap

    async def one_sender(i: int) -> None:
        async with in_transaction():  # each its own transaction, as separate jobs would be
            await outbox.notify(account, "policy", "notifications.digest", {"day": "x"}, f"s{i}")

    await asyncio.gather(*(one_sender(i) for i in range(cap + 7)))
    phone = await Delivery.filter(notification__template="notifications.digest").exclude(
        notification__idempotency_key__startswith="digest:"
    )
    assert sum(1 for d in phone if d.status == "pending") == cap  # never more reach the phone
    assert sum(1 for d in phone if d.error == "digest") == 7
    digests = await Notification.filter(idempotency_key__startswith="digest:").count()
    assert digests == 1


async def test_two_bulk_sends_to_overlapping_people_at_once_write_each_once(env: Env) -> None:
    env.app.state.services.outbox._clock = lambda: NOON
    people = await _people(300)
    outbox = env.app.state.services.outbox

    async def send(part: list[str]) -> int:
        async with in_transaction():
            to = [Addressed(p, f"overlap:{p}") for p in part]
            return await outbox.notify_many(
                to, "service_status", "notifications.digest", {"day": "x"}
            )

    written = await asyncio.gather(send(people[:200]), send(people[100:]), send(people[::-1]))
    assert sum(written) == 300
    assert await Notification.all().count() == 300


async def test_a_dispatcher_that_outlived_its_lease_does_not_overwrite_the_next_ones_work(
    env: Env,
) -> None:
    (account,) = await _residents(env, 1)
    await _notify(env, [account])
    clock = Clock(datetime.now(UTC))
    slow = env.dispatcher(clock, lease_s=60)
    claimed = await slow.claim()
    clock.now += timedelta(seconds=61)  # it stalled past its lease; another took the row
    assert await env.dispatcher(clock).run_until_idle() == 1
    late = Ledger(clock())
    late.close(claimed[0], "failed", "gave_up")  # what the stalled one decided, too late
    await late.write(claimed[0].lease_owner)
    (row,) = await Delivery.filter(channel="sms")
    assert (row.status, row.error) == ("sent", None)


async def test_an_elder_in_elderly_mode_is_told_plainly_and_not_after_nine(env: Env) -> None:
    tokens = await env.login("13900000002")
    account = (await env.client.get("/api/v1/me", headers=env.auth(tokens))).json()["id"]
    device = {"token": "fcm-elder-" + "e" * 40, "platform": "android"}
    assert (
        await env.client.post("/api/v1/devices", json=device, headers=env.auth(tokens))
    ).is_success
    await Resident.filter(id=account).update(view_mode="elderly")
    evening = datetime(2026, 11, 28, 21, 30, tzinfo=rules.CHINA).astimezone(UTC)
    env.app.state.services.outbox._clock = lambda: evening
    await _notify(env, [account], category="service_status", link="/api/v1/notifications")
    clock = Clock(evening)  # 21:30: still evening for most, night for her
    dispatcher = env.dispatcher(clock)
    assert await dispatcher.run_until_idle() == 0
    clock.now = datetime(2026, 11, 29, 7, 30, tzinfo=rules.CHINA).astimezone(UTC)
    assert await dispatcher.run_until_idle() == 0  # others' morning starts at 7, hers at 8
    clock.now = datetime(2026, 11, 29, 8, 0, tzinfo=rules.CHINA).astimezone(UTC)
    assert await dispatcher.run_until_idle() == 1
    (pushed,) = [m["message"] for m in env.sandbox.app[FCM].outbox]
    assert pushed["notification"]["body"] == "您有新消息，请打开应用查看。"  # the plainer words
    assert "link" not in pushed["data"]  # no link she would have to follow
