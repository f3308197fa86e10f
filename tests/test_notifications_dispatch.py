"""The dispatcher against the sandbox's SMS gateway, through the real SMS client: each message
sent once however many dispatchers run, nothing lost when one dies mid-batch, quiet hours
kept, a failing gateway retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from app_api import notices
from app_api.miniprogram import installed
from integrations.sandbox import FCM, SMS
from integrations.sandbox.fcm import TokenAnswer
from integrations.signing import signed_headers
from notifications import rules
from notifications.dispatcher import Dispatcher
from notifications.models import Delivery, Device
from tests.conftest import Env


class Clock:
    """The dispatchers' notion of now, moved by the test as time would move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _dispatcher(env: Env, clock: Callable[[], datetime], **options: int) -> Dispatcher:
    built = notices.build_dispatcher(env.app.state.services, installed())
    return Dispatcher(built.channels, built.templates, notices.recipient, clock=clock, **options)


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
    first, second = _dispatcher(env, clock, batch=5), _dispatcher(env, clock, batch=5)
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
    dying = _dispatcher(env, clock, lease_s=60)
    claimed = await dying.claim()  # ...and the process is killed before it records anything
    assert len(claimed) == 4
    # It had already sent two of them when it died.
    await dying._send(  # the channel call a real dispatcher makes, cut short
        dying.channels["sms"],
        [(d, o) for d in claimed[:2] for o in await dying._outgoing(d)],
    )
    survivor = _dispatcher(env, clock)
    assert await survivor.run_until_idle() == 0  # its leases still hold
    clock.now += timedelta(seconds=61)
    assert await survivor.run_until_idle() == 2  # the two it had not finished
    assert len(_texts(env)) == 4  # four people, four messages: none lost, none twice
    assert {r.status for r in await Delivery.filter(channel="sms")} == {"sent"}


async def test_normal_messages_wait_for_the_morning(env: Env) -> None:
    (account,) = await _residents(env, 1)
    night = datetime(2026, 11, 28, 23, 30, tzinfo=rules.CHINA)
    env.app.state.services.outbox._clock = lambda: night.astimezone(UTC)
    await _notify(env, [account], category="service_status")
    clock = Clock(night.astimezone(UTC))
    dispatcher = _dispatcher(env, clock)
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
        dispatcher = _dispatcher(env, clock)
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
    dispatcher = _dispatcher(env, Clock(noon))
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
    await _dispatcher(env, Clock(datetime.now(UTC))).run_until_idle()
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
