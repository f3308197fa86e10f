"""Enterprise webhooks end to end: an admin registers one (and only an admin may), the SSRF
guard refuses internal addresses in production, a message reaches a real local receiver
through the dispatcher signed as documented, 500s are retried on the 24 h schedule, and
then the hook is turned off and the admin finds a message in the inbox."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from aiohttp import web

from app_api.demo import make_credit_code
from app_api.identity.models import Enterprise, EnterpriseAdmin, Resident
from notifications.channels.webhook import RETRY_DELAYS_S, verify_signature
from notifications.models import Delivery, Notification, Webhook
from notifications.webhooks import DISABLED_TEMPLATE, MAX_HOOKS
from tests.conftest import Clock, Env

ADMIN_PHONE = "13300000011"


@dataclass
class Receiver:
    """An enterprise's webhook endpoint: records what arrives, answers ``status``."""

    url: str = ""
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/superapp", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    found.url = f"http://{host}:{port}/hooks/superapp"
    yield found
    await runner.cleanup()


async def _enterprise(env: Env) -> tuple[str, dict[str, Any], Enterprise]:
    """An enterprise, and its admin signed in past the second factor."""
    code = make_credit_code(random.Random(7), "321302")
    tokens = await env.login(ADMIN_PHONE)
    company = await Enterprise.create(
        credit_code=code, name="宿迁钩子科技有限公司", industry_code="6510", size="small",
        district="321302", founded_on="2021-03-01",
    )  # fmt: skip
    admin = await Resident.get(phone=ADMIN_PHONE)
    await EnterpriseAdmin.create(enterprise=company, resident=admin)
    await env.enrol_totp(tokens)
    return code, tokens, company


async def _register(env: Env, code: str, tokens: dict[str, Any], url: str) -> dict[str, Any]:
    resp = await env.client.post(
        f"/api/v1/enterprises/{code}/webhooks", json={"url": url}, headers=env.auth(tokens)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_only_an_admin_registers_and_the_secret_is_shown_once(
    env: Env, receiver: Receiver
) -> None:
    code, tokens, company = await _enterprise(env)
    created = await _register(env, code, tokens, receiver.url)
    assert created["secret"].startswith("whsec_") and created["url"] == receiver.url
    row = await Webhook.get(id=created["id"])
    assert row.enterprise_id == company.id and created["secret"] not in row.secret_sealed

    listed = await env.client.get(f"/api/v1/enterprises/{code}/webhooks", headers=env.auth(tokens))
    assert [h["id"] for h in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0]

    stranger = await env.login("13300000012")
    await env.enrol_totp(stranger)
    for tried in (
        env.client.post(
            f"/api/v1/enterprises/{code}/webhooks",
            json={"url": receiver.url},
            headers=env.auth(stranger),
        ),
        env.client.get(f"/api/v1/enterprises/{code}/webhooks", headers=env.auth(stranger)),
        env.client.delete(
            f"/api/v1/enterprises/{code}/webhooks/{created['id']}", headers=env.auth(stranger)
        ),
    ):
        refused = await tried
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    gone = await env.client.delete(
        f"/api/v1/enterprises/{code}/webhooks/{created['id']}", headers=env.auth(tokens)
    )
    assert gone.status_code == 204
    assert not await Webhook.exists(id=created["id"])


async def test_internal_addresses_are_refused_in_production(env: Env) -> None:
    code, tokens, _ = await _enterprise(env)
    services = env.app.state.services
    working = services.settings
    services.settings = msgspec.structs.replace(working, env="production")
    try:
        for url in ("http://169.254.169.254/latest/meta-data", "https://127.0.0.1/hook"):
            resp = await env.client.post(
                f"/api/v1/enterprises/{code}/webhooks", json={"url": url}, headers=env.auth(tokens)
            )
            assert resp.status_code == 422, resp.text
            assert resp.json()["code"] == "webhook_url_refused"
    finally:
        services.settings = working
    assert not await Webhook.exists()


async def test_a_message_reaches_the_receiver_signed(env: Env, receiver: Receiver) -> None:
    code, tokens, company = await _enterprise(env)
    secret = (await _register(env, code, tokens, receiver.url))["secret"]
    outbox = env.app.state.services.outbox
    args = (str(company.id), "policy", "notifications.digest", {"day": "28日"}, "policy-42")
    assert await outbox.notify_enterprise(*args, link="superapp://policy/42")
    assert not await outbox.notify_enterprise(*args)  # the same key again: nothing new

    dispatcher = env.dispatcher(Clock(datetime.now(UTC)))
    assert await dispatcher.run_until_idle() == 1
    [(headers, body)] = receiver.received
    assert verify_signature(
        secret, headers["X-Superapp-Timestamp"], body, headers["X-Superapp-Signature"]
    )
    message = msgspec.json.decode(body)
    assert message["delivery_id"] == headers["X-Superapp-Delivery"]
    assert message["category"] == "policy" and message["link"] == "superapp://policy/42"
    assert "28日" in message["body"]
    [delivery] = await Delivery.filter(channel="webhook")
    assert delivery.status == "sent" and delivery.attempts == 1


async def test_failures_are_retried_for_24_hours_then_the_hook_is_turned_off(
    env: Env, receiver: Receiver
) -> None:
    code, tokens, company = await _enterprise(env)
    hook_id = (await _register(env, code, tokens, receiver.url))["id"]
    receiver.status = 500
    outbox = env.app.state.services.outbox
    await outbox.notify_enterprise(str(company.id), "policy", "notifications.digest", {}, "p-1")
    clock = Clock(datetime.now(UTC))
    dispatcher = env.dispatcher(clock)
    started = clock.now

    waits = []
    for _ in range(len(RETRY_DELAYS_S)):
        assert await dispatcher.run_until_idle() == 1
        [row] = await Delivery.filter(channel="webhook")
        assert row.status == "pending" and row.error == "http_500"
        waits.append((row.not_before - clock.now).total_seconds())
        assert await dispatcher.run_until_idle() == 0  # nothing is due before the wait
        clock.now = row.not_before
        hook = await Webhook.get(id=hook_id)
        assert hook.failing_since is not None and hook.disabled_at is None
    assert waits == [float(s) for s in RETRY_DELAYS_S]
    assert clock.now - started == timedelta(hours=24)

    await dispatcher.run_until_idle()  # the last try, 24 h after the first
    [row] = await Delivery.filter(channel="webhook")
    assert row.status == "failed" and row.attempts == len(RETRY_DELAYS_S) + 1
    assert len(receiver.received) == len(RETRY_DELAYS_S) + 1
    assert len({h["X-Superapp-Delivery"] for h, _ in receiver.received}) == 1
    hook = await Webhook.get(id=hook_id)
    assert hook.disabled_at == clock.now and hook.disabled_reason == "failing_24h"

    # The admin is told in the inbox, once, and a disabled hook gets no new messages.
    admin = await Resident.get(phone=ADMIN_PHONE)
    assert await Notification.filter(recipient_id=admin.id, template=DISABLED_TEMPLATE).count() == 1
    inbox = await env.client.get("/api/v1/notifications", headers=env.auth(tokens))
    [message] = inbox.json()["items"]
    assert receiver.url in message["body"]
    assert not await outbox.notify_enterprise(
        str(company.id), "policy", "notifications.digest", {}, "p-2"
    )
    listed = await env.client.get(f"/api/v1/enterprises/{code}/webhooks", headers=env.auth(tokens))
    assert listed.json()["items"][0]["disabled_reason"] == "failing_24h"


async def test_a_receiver_answering_gone_turns_the_hook_off_at_once(
    env: Env, receiver: Receiver
) -> None:
    code, tokens, company = await _enterprise(env)
    hook_id = (await _register(env, code, tokens, receiver.url))["id"]
    receiver.status = 410
    outbox = env.app.state.services.outbox
    await outbox.notify_enterprise(str(company.id), "policy", "notifications.digest", {}, "g-1")
    dispatcher = env.dispatcher(Clock(datetime.now(UTC)))
    await dispatcher.run_until_idle()
    hook = await Webhook.get(id=hook_id)
    assert hook.disabled_reason == "http_410" and len(receiver.received) == 1
    [row] = await Delivery.filter(channel="webhook")
    assert row.status == "failed" and row.attempts == 1


async def test_twenty_registrations_at_once_stop_at_the_limit(env: Env, receiver: Receiver) -> None:
    code, tokens, company = await _enterprise(env)
    answers = await asyncio.gather(
        *(
            env.client.post(
                f"/api/v1/enterprises/{code}/webhooks",
                json={"url": receiver.url},
                headers=env.auth(tokens),
            )
            for _ in range(20)
        )
    )
    assert sorted(a.status_code for a in answers) == [201] * MAX_HOOKS + [409] * (20 - MAX_HOOKS)
    assert await Webhook.filter(enterprise_id=company.id).count() == MAX_HOOKS
