"""The push channel, through firebase-admin's own code path, against the sandbox's fake FCM.

Every send here is firebase-admin talking HTTP to the sandbox: the OAuth JWT-bearer grant at
the key file's ``token_uri``, then one FCM HTTP v1 request per device token. Faults and
per-token answers are set through the sandbox's admin routes, as a developer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from structlog.testing import capture_logs

from integrations.sandbox import FCM, FakeFcm, development_service_account
from notifications.channels.base import Outgoing, batches
from notifications.channels.push import DELIVERY_KEY, PushChannel
from tests.conftest import Sandbox


def token(n: int) -> str:
    """A device token shaped like FCM's."""
    return f"dev{n:05d}:APA91bH{'x' * 120}"


def push(n: int, **overrides: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "delivery_id": f"dlv-{n:05d}",
        "recipient_id": f"acct-{n}",
        "address": token(n),
        "title": "政策提醒",
        "body": "您可能符合高龄津贴的申领条件",
        "link": "/policy/42",
        "category": "policy",
    }
    return Outgoing(**(fields | overrides))


@pytest.fixture
def fcm(sandbox: Sandbox) -> FakeFcm:
    return sandbox.app[FCM]


@pytest.fixture
def account(sandbox: Sandbox, fcm: FakeFcm) -> dict[str, Any]:
    """A development key file the sandbox trusts, as ``make run`` would make one."""
    info = development_service_account(sandbox.url)
    fcm.oauth.trust(info)
    return info


@pytest.fixture
async def channel(sandbox: Sandbox, account: dict[str, Any]) -> AsyncIterator[PushChannel]:
    channel = PushChannel(
        project_id=account["project_id"], service_account=account, fcm_base_url=sandbox.url
    )
    yield channel
    await channel.close()


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


async def outbox(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    async with http.get("/push/outbox") as resp:
        assert resp.status == 200
        return (await resp.json())["messages"]


async def answer_for(http: aiohttp.ClientSession, device: str, error: str, **extra: Any) -> None:
    async with http.put(f"/admin/fcm/tokens/{device}", json={"error": error, **extra}) as resp:
        assert resp.status == 200, await resp.text()


async def test_a_batch_of_three_arrives_in_the_push_outbox_with_our_delivery_ids(
    channel: PushChannel, http: aiohttp.ClientSession
) -> None:
    batch = [push(1), push(2, priority="urgent"), push(3, link=None)]
    outcomes = await channel.send(batch)

    assert [o.status for o in outcomes] == ["sent"] * 3
    assert [o.delivery_id for o in outcomes] == ["dlv-00001", "dlv-00002", "dlv-00003"]
    accepted = await outbox(http)
    assert {m["name"] for m in accepted} == {o.provider_message_id for o in outcomes}
    assert all(
        str(o.provider_message_id).startswith("projects/superapp-dev/messages/") for o in outcomes
    )
    by_delivery = {m["message"]["data"][DELIVERY_KEY]: m for m in accepted}
    assert set(by_delivery) == {"dlv-00001", "dlv-00002", "dlv-00003"}
    first = by_delivery["dlv-00001"]["message"]
    assert first["token"] == token(1)
    assert first["notification"] == {"title": "政策提醒", "body": "您可能符合高龄津贴的申领条件"}
    assert first["data"] == {DELIVERY_KEY: "dlv-00001", "category": "policy", "link": "/policy/42"}
    assert first["android"]["priority"] == "normal"
    # A re-send of the same delivery replaces the notification on the phone.
    assert first["android"]["notification"]["tag"] == "dlv-00001"
    assert first["apns"]["headers"]["apns-collapse-id"] == "dlv-00001"
    urgent = by_delivery["dlv-00002"]["message"]
    assert urgent["android"]["priority"] == "high"
    assert urgent["apns"]["headers"]["apns-priority"] == "10"
    assert "link" not in by_delivery["dlv-00003"]["message"]["data"]


async def test_a_firebase_installation_id_is_sent_as_fid(
    channel: PushChannel, http: aiohttp.ClientSession
) -> None:
    """Devices on FCM's newer SDKs register an installation ID instead of a token."""
    fid = "cX3kP9qRt0vWz2yA4bC6dE"
    await answer_for(http, "fAAAAAAAAAAAAAAAAAAAAA", "UNREGISTERED")
    outcomes = await channel.send([push(1, address=fid), push(2, address="fAAAAAAAAAAAAAAAAAAAAA")])

    assert [(o.status, o.error) for o in outcomes] == [
        ("sent", None),
        ("invalid_address", "UNREGISTERED"),
    ]
    [accepted] = await outbox(http)
    assert (accepted["fid"], accepted["token"]) == (fid, None)
    assert "token" not in accepted["message"]


async def test_twelve_hundred_pushes_go_in_batches_of_at_most_500(
    channel: PushChannel, fcm: FakeFcm
) -> None:
    items = [push(n) for n in range(1200)]
    chunks = list(batches(items, channel.max_batch))
    assert [len(c) for c in chunks] == [500, 500, 200]

    outcomes = [o for chunk in chunks for o in await channel.send(chunk)]

    assert [o.delivery_id for o in outcomes] == [i.delivery_id for i in items]
    assert {o.status for o in outcomes} == {"sent"}
    assert fcm.accepted == 1200
    assert sorted(m["message"]["data"][DELIVERY_KEY] for m in fcm.outbox) == sorted(
        i.delivery_id for i in items
    )
    with pytest.raises(ValueError, match="500"):
        await channel.send([push(n) for n in range(501)])
    assert fcm.accepted == 1200  # refused before anything was sent


async def test_unregistered_and_invalid_tokens_are_invalid_addresses_and_the_rest_sent(
    channel: PushChannel, http: aiohttp.ClientSession
) -> None:
    await answer_for(http, token(2), "UNREGISTERED")
    await answer_for(http, token(4), "INVALID_ARGUMENT")
    malformed = push(5, address="not a token")  # FCM's own check of the token's shape

    with capture_logs() as logs:
        outcomes = await channel.send([push(1), push(2), push(3), push(4), malformed])

    assert [(o.status, o.error) for o in outcomes] == [
        ("sent", None),
        ("invalid_address", "UNREGISTERED"),
        ("sent", None),
        ("invalid_address", "INVALID_ARGUMENT"),
        ("invalid_address", "INVALID_ARGUMENT"),
    ]
    tokens = {m["token"] for m in await outbox(http)}
    assert tokens == {token(1), token(3)}
    assert logs, "the batch is logged"
    assert not any(t in repr(logs) for t in (token(1), token(2), token(4), "not a token"))


async def test_a_message_fcm_refuses_fails_without_blaming_the_device(
    channel: PushChannel,
) -> None:
    # Over FCM's 4 KiB payload: INVALID_ARGUMENT about the message, not the token.
    [outcome] = await channel.send([push(1, body="长" * 2000)])

    assert (outcome.status, outcome.error) == ("failed", "INVALID_ARGUMENT")


async def test_a_503_from_fcm_comes_back_retry(
    channel: PushChannel, http: aiohttp.ClientSession, fcm: FakeFcm
) -> None:
    async with http.put("/admin/faults/fcm", json={"kind": "error", "times": 2}) as resp:
        assert resp.status == 200
    outcomes = await channel.send([push(1), push(2)])
    assert [(o.status, o.error) for o in outcomes] == [("retry", "UNAVAILABLE")] * 2
    assert fcm.requests == 2  # the SDK's own retries are off: the dispatcher owns back-off
    assert await outbox(http) == []

    # One device's answer: 503 with Retry-After, once; then it heals.
    await answer_for(http, token(1), "UNAVAILABLE", times=1)
    [first] = await channel.send([push(1)])
    assert (first.status, first.error, first.retry_after_s) == ("retry", "UNAVAILABLE", 1.0)
    [again] = await channel.send([push(1)])
    assert again.status == "sent"

    async with http.put("/admin/faults/fcm", json={"kind": "throttle", "times": 1}) as resp:
        assert resp.status == 200
    [throttled] = await channel.send([push(2)])
    assert (throttled.status, throttled.error, throttled.retry_after_s) == (
        "retry",
        "QUOTA_EXCEEDED",
        1.0,
    )


async def test_a_bad_oauth_assertion_is_refused(
    sandbox: Sandbox, account: dict[str, Any], http: aiohttp.ClientSession, fcm: FakeFcm
) -> None:
    # Same account name, another key: the signature does not verify against the trusted one.
    stranger = development_service_account(sandbox.url)
    assert stranger["client_email"] == account["client_email"]
    channel = PushChannel(
        project_id=account["project_id"], service_account=stranger, fcm_base_url=sandbox.url
    )
    try:
        outcomes = await channel.send([push(1), push(2)])
    finally:
        await channel.close()
    assert [(o.status, o.error) for o in outcomes] == [("failed", "oauth_refused")] * 2
    assert fcm.oauth.refused == 1 and fcm.requests == 0
    assert await outbox(http) == []

    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b.c"}
    async with http.post("/token", data=grant) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"
    # And FCM itself wants a token the sandbox issued, answering in Google's format.
    send = f"/v1/projects/{account['project_id']}/messages:send"
    body = {"message": {"token": token(1), "notification": {"title": "t", "body": "b"}}}
    async with http.post(send, json=body, headers={"Authorization": "Bearer ya29.forged"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["status"] == "UNAUTHENTICATED"


async def test_the_access_token_is_fetched_once_and_reused(
    channel: PushChannel, fcm: FakeFcm
) -> None:
    for n in range(3):
        outcomes = await channel.send([push(10 * n + k) for k in range(5)])
        assert {o.status for o in outcomes} == {"sent"}

    assert fcm.oauth.token_requests == 1
    assert fcm.accepted == 15


async def test_the_fake_checks_what_google_checks(
    account: dict[str, Any], http: aiohttp.ClientSession, fcm: FakeFcm
) -> None:
    """validate_only, unknown fields, reserved data keys and another project's URL."""
    credential = service_account.Credentials.from_service_account_info(
        account, scopes=["https://www.googleapis.com/auth/firebase.messaging"]
    )
    # In a thread: google-auth's requests transport blocks, and the sandbox runs on this loop.
    await asyncio.to_thread(credential.refresh, Request())
    auth = {"Authorization": f"Bearer {credential.token}"}
    send = f"/v1/projects/{account['project_id']}/messages:send"

    async def post(body: dict[str, Any], url: str = send) -> tuple[int, dict[str, Any]]:
        async with http.post(url, json=body, headers=auth) as resp:
            return resp.status, await resp.json()

    status, answer = await post({"message": {"token": token(1)}, "validate_only": True})
    assert (status, answer["name"]) == (200, "projects/superapp-dev/messages/fake_message_id")
    status, answer = await post({"message": {"token": token(1), "colour": "red"}})
    assert status == 400
    assert answer["error"]["details"][0] == {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": "INVALID_ARGUMENT",
    }
    status, _ = await post({"message": {"token": token(1), "data": {"google.x": "1"}}})
    assert status == 400
    status, answer = await post(
        {"message": {"token": token(1)}}, "/v1/projects/other/messages:send"
    )
    assert (status, answer["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert fcm.accepted == 0


async def test_an_fcm_that_stops_answering_mid_call_comes_back_retry_in_time(
    sandbox: Sandbox, account: dict[str, Any], http: aiohttp.ClientSession, fcm: FakeFcm
) -> None:
    channel = PushChannel(
        project_id=account["project_id"],
        service_account=account,
        fcm_base_url=sandbox.url,
        timeout_s=0.5,
    )
    try:
        async with http.put("/admin/faults/fcm", json={"kind": "timeout", "times": 1}) as resp:
            assert resp.status == 200
        outcomes = await channel.send([push(1), push(2)])
        # The hung request is given up on (to be tried again later); the other still went.
        assert sorted((o.status, o.error) for o in outcomes) == [
            ("retry", "DEADLINE_EXCEEDED"),
            ("sent", None),
        ]
        hung = next(n for n, o in enumerate(outcomes, 1) if o.status == "retry")
        [again] = await channel.send([push(hung)])  # the connection pool survived it
        assert again.status == "sent"
    finally:
        await channel.close()
    assert sorted(m["token"] for m in await outbox(http)) == [token(1), token(2)]
