"""The SMS channel through the real SmsClient against the sandbox gateway, and its receipts."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from integrations.sandbox import FAULTS, SMS, SandboxConfig, run_sandbox
from integrations.sandbox.faults import Fault
from integrations.sandbox.sms_gateway import ReceiptConfig
from integrations.signing import signed_headers, verify_headers
from integrations.sms import SmsClient
from notifications.channels import Channel, Outgoing
from notifications.channels.sms import SmsChannel
from notifications.receipts import ReceiptRejected, parse_receipt

APP_ID = "superapp-test"
APP_SECRET = "test-secret-for-signing-0123456789"
GATEWAY_ID = "gateway-test"
GATEWAY_SECRET = "gateway-receipt-secret-0123456789"
RECEIPT_PATH = "/api/v1/callbacks/sms-receipts"
PHONE = "13912345678"
OTHER_APP = "another-customer"  # a second app of the gateway's
VERIFY = functools.partial(verify_headers, GATEWAY_ID, GATEWAY_SECRET)


@dataclass
class Callback:
    """A local stand-in for our receipt route: records each call, answers from ``statuses``."""

    url: str
    calls: asyncio.Queue[tuple[bytes, dict[str, str], str]] = field(default_factory=asyncio.Queue)
    statuses: list[int] = field(default_factory=list)


@dataclass
class Gateway:
    url: str
    app: web.Application


@pytest.fixture
async def callback() -> AsyncIterator[Callback]:
    box = Callback(url="")

    async def receive(request: web.Request) -> web.Response:
        await box.calls.put((await request.read(), dict(request.headers), request.path_qs))
        return web.Response(status=box.statuses.pop(0) if box.statuses else 204)

    app = web.Application()
    app.router.add_post(RECEIPT_PATH, receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    box.url = f"http://{host}:{port}{RECEIPT_PATH}"
    yield box
    await runner.cleanup()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    receipts = ReceiptConfig(app_id=GATEWAY_ID, secret=GATEWAY_SECRET, delay_s=0, backoff_s=0.05)
    runner = await run_sandbox(
        SandboxConfig(
            app_secrets={APP_ID: APP_SECRET, OTHER_APP: "other-secret"}, sms_receipts=receipts
        ),
        "127.0.0.1",
        0,
    )
    host, port = runner.addresses[0][:2]
    yield Gateway(f"http://{host}:{port}", runner.app)
    await runner.cleanup()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[SmsClient]:
    sms = SmsClient(gateway.url, APP_ID, APP_SECRET, timeout_s=1.0)
    yield sms
    await sms.close()


def notice(delivery_id: str, phone: str = PHONE) -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        recipient_id="resident-1",
        address=phone,
        title="公积金提取已到账",
        body="您申请的公积金提取已到账，请查收。",
        template="NOTICE",
        params={"title": "公积金提取已到账"},
    )


async def acknowledged(gateway: Gateway) -> None:
    while not gateway.app[SMS].receipts_delivered:
        await asyncio.sleep(0.01)


async def register_callback(gateway: Gateway, url: str) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.put(
            f"{gateway.url}/sms/admin/receipt-callbacks/{APP_ID}", json={"url": url}
        )
        assert resp.status_code == 200, resp.text


async def test_a_message_is_sent_with_the_delivery_id_as_request_id(
    gateway: Gateway, client: SmsClient
) -> None:
    channel: Channel = SmsChannel(client)
    [outcome] = await channel.send([notice("d-1")])
    assert outcome.status == "sent"
    [message] = gateway.app[SMS].outbox
    assert outcome.provider_message_id == message["message_id"]
    assert message["request_id"] == "d-1"
    assert message["text"] == "【宿迁城市通】您有一条新消息：公积金提取已到账。请打开城市通查看。"


async def test_an_invalid_number_is_an_invalid_address_and_others_still_go(
    gateway: Gateway, client: SmsClient
) -> None:
    outcomes = await SmsChannel(client).send([notice("d-1", "12345"), notice("d-2")])
    assert [o.status for o in outcomes] == ["invalid_address", "sent"]
    assert outcomes[0].error == "http_400:INVALID_MOBILE"
    assert [m["phone"] for m in gateway.app[SMS].outbox] == [PHONE]


async def test_an_unregistered_template_fails_without_retry(client: SmsClient) -> None:
    item = notice("d-1")
    unknown = Outgoing(**{**{f: getattr(item, f) for f in item.__struct_fields__}, "template": "X"})
    [outcome] = await SmsChannel(client).send([unknown])
    assert (outcome.status, outcome.error) == ("failed", "http_400:INVALID_PARAMETER")


async def test_no_template_uses_the_default_or_fails(gateway: Gateway, client: SmsClient) -> None:
    bare = Outgoing(delivery_id="d-1", recipient_id="r", address=PHONE, title="新政策", body="…")
    [without] = await SmsChannel(client).send([bare])
    assert (without.status, without.error) == ("failed", "no_template")
    [with_default] = await SmsChannel(client, default_template="NOTICE").send([bare])
    assert with_default.status == "sent"
    assert gateway.app[SMS].outbox[-1]["params"] == {"title": "新政策"}


@pytest.mark.parametrize("kind", ["error", "throttle", "timeout"])
async def test_gateway_failures_are_retried(gateway: Gateway, client: SmsClient, kind: str) -> None:
    gateway.app[FAULTS].set("sms", Fault(kind=kind, times=1))  # type: ignore[arg-type]
    [outcome] = await SmsChannel(client).send([notice("d-1")])
    assert outcome.status == "retry"
    expected = {"error": "http_500:SYSTEM_ERROR", "throttle": "http_429:THROTTLED"}
    assert outcome.error == expected.get(kind, "no_answer")
    # Healed: the same delivery goes through on the next try.
    [again] = await SmsChannel(client).send([notice("d-1")])
    assert again.status == "sent"


async def test_the_same_delivery_twice_is_one_message(gateway: Gateway, client: SmsClient) -> None:
    channel = SmsChannel(client)
    first = await channel.send([notice("d-1"), notice("d-2")])
    # A crash after sending, before recording: the dispatcher sends the batch again, and
    # twice at once for good measure.
    again, concurrent = await asyncio.gather(
        channel.send([notice("d-1"), notice("d-2")]), channel.send([notice("d-1")])
    )
    assert [o.provider_message_id for o in again] == [o.provider_message_id for o in first]
    assert concurrent[0].provider_message_id == first[0].provider_message_id
    assert sorted(m["request_id"] for m in gateway.app[SMS].outbox) == ["d-1", "d-2"]


async def test_request_ids_are_per_app(gateway: Gateway) -> None:
    """Another app's request id that happens to equal ours is another message."""
    ours = SmsClient(gateway.url, APP_ID, APP_SECRET)
    theirs = SmsClient(gateway.url, OTHER_APP, "other-secret")
    try:
        a = await ours.send(PHONE, "NOTICE", {"title": "x"}, request_id="same")
        b = await theirs.send(PHONE, "NOTICE", {"title": "x"}, request_id="same")
    finally:
        await ours.close()
        await theirs.close()
    assert a != b
    assert len(gateway.app[SMS].outbox) == 2


async def test_without_request_id_every_call_is_a_new_message(
    gateway: Gateway, client: SmsClient
) -> None:
    await client.send(PHONE, "NOTICE", {"title": "x"})
    await client.send(PHONE, "NOTICE", {"title": "x"})
    assert len(gateway.app[SMS].outbox) == 2


async def test_a_delivery_receipt_arrives_signed_and_parses(
    gateway: Gateway, client: SmsClient, callback: Callback
) -> None:
    await register_callback(gateway, callback.url)
    [outcome] = await SmsChannel(client).send([notice("d-1")])
    body, headers, path = await asyncio.wait_for(callback.calls.get(), 10)
    receipt = parse_receipt(body, headers, VERIFY, path=path)
    assert receipt.delivery_id == "d-1"
    assert receipt.provider_message_id == outcome.provider_message_id
    assert (receipt.delivered, receipt.status, receipt.error_code) == (True, "DELIVRD", None)
    assert receipt.done_at.tzinfo is not None


async def test_an_undeliverable_number_gets_an_undeliv_receipt(
    gateway: Gateway, client: SmsClient, callback: Callback
) -> None:
    await register_callback(gateway, callback.url)
    async with httpx.AsyncClient() as http:
        resp = await http.put(f"{gateway.url}/sms/admin/undeliverable/{PHONE}")
        assert resp.status_code == 200
    [outcome] = await SmsChannel(client).send([notice("d-1")])
    assert outcome.status == "sent"  # accepted by the gateway; the carrier fails it later
    body, headers, path = await asyncio.wait_for(callback.calls.get(), 10)
    receipt = parse_receipt(body, headers, VERIFY, path=path)
    assert (receipt.delivered, receipt.status, receipt.error_code) == (False, "UNDELIV", "MK:0005")


async def test_a_failing_callback_is_tried_again(
    gateway: Gateway, client: SmsClient, callback: Callback
) -> None:
    await register_callback(gateway, callback.url)
    callback.statuses = [500, 503]
    await SmsChannel(client).send([notice("d-1")])
    calls = [await asyncio.wait_for(callback.calls.get(), 10) for _ in range(3)]
    # Each try is signed afresh (its own nonce), and each verifies.
    assert len({h["X-Nonce"] for _, h, _ in calls}) == 3
    receipts = [parse_receipt(b, h, VERIFY, path=p) for b, h, p in calls]
    assert {r.delivery_id for r in receipts} == {"d-1"}
    await asyncio.wait_for(acknowledged(gateway), 10)  # by the third answer (204)
    assert len(gateway.app[SMS].receipts_delivered) == 1


async def test_a_tampered_or_foreign_receipt_is_refused(
    gateway: Gateway, client: SmsClient, callback: Callback
) -> None:
    await register_callback(gateway, callback.url)
    await SmsChannel(client).send([notice("d-1")])
    body, headers, path = await asyncio.wait_for(callback.calls.get(), 10)
    tampered = body.replace(b"DELIVRD", b"UNDELIV")
    with pytest.raises(ReceiptRejected) as refused:
        parse_receipt(tampered, headers, VERIFY, path=path)
    assert refused.value.reason == "signature"
    wrong_secret = functools.partial(verify_headers, GATEWAY_ID, "not-the-gateway-secret")
    with pytest.raises(ReceiptRejected, match="signature"):
        parse_receipt(body, headers, wrong_secret, path=path)
    # Signed correctly, but by a caller that is not the gateway (our own SMS app id).
    forged = signed_headers(APP_ID, GATEWAY_SECRET, "POST", path, {}, body)
    with pytest.raises(ReceiptRejected, match="app_id"):
        parse_receipt(body, forged, VERIFY, path=path)
    with pytest.raises(ReceiptRejected, match="signature"):
        parse_receipt(body, headers, VERIFY, path="/another/path")
    unsigned = {k: v for k, v in headers.items() if k != "X-Signature"}
    with pytest.raises(ReceiptRejected, match="signature"):
        parse_receipt(body, unsigned, VERIFY, path=path)


def test_receipt_signatures_expire_and_bodies_must_be_receipts() -> None:
    body = b'{"message_id": "m", "request_id": "d", "status": "DELIVRD", "done_at": "x"}'
    headers = signed_headers(GATEWAY_ID, GATEWAY_SECRET, "POST", RECEIPT_PATH, {}, body)
    later = functools.partial(VERIFY, now=time.time() + 3600)
    with pytest.raises(ReceiptRejected, match="skew"):
        parse_receipt(body, headers, later, path=RECEIPT_PATH)
    with pytest.raises(ReceiptRejected, match="malformed"):  # genuine signature, no date
        parse_receipt(body, headers, VERIFY, path=RECEIPT_PATH)
    naive = body.replace(b'"x"', b'"2026-01-05T08:00:00"')  # a time without its zone
    headers = signed_headers(GATEWAY_ID, GATEWAY_SECRET, "POST", RECEIPT_PATH, {}, naive)
    with pytest.raises(ReceiptRejected, match="malformed"):
        parse_receipt(naive, headers, VERIFY, path=RECEIPT_PATH)
    with pytest.raises(ReceiptRejected, match="too_large"):
        parse_receipt(b"x" * 5000, headers, VERIFY, path=RECEIPT_PATH)


def test_verify_headers_reads_any_header_case_and_refuses_odd_values() -> None:
    body = b"{}"
    headers = signed_headers(GATEWAY_ID, GATEWAY_SECRET, "POST", "/p", {"a": "1"}, body)
    lower = {k.lower(): v for k, v in headers.items()}
    assert VERIFY("POST", "/p", {"a": "1"}, lower, body) is None
    assert VERIFY("POST", "/p", {"a": "2"}, lower, body) == "signature"
    assert VERIFY("POST", "/p", {"a": "1"}, {**lower, "x-signature": "签名"}, body) == "signature"
    assert VERIFY("POST", "/p", {"a": "1"}, {**lower, "x-app-id": "网关"}, body) == "app_id"


async def test_a_refused_signature_waits_rather_than_drops(gateway: Gateway) -> None:
    """A wrong secret (or clock) is ours to fix, not the message's fault."""
    misconfigured = SmsClient(gateway.url, APP_ID, "a-rotated-secret", timeout_s=1.0)
    try:
        [outcome] = await SmsChannel(misconfigured).send([notice("d-1")])
    finally:
        await misconfigured.close()
    assert (outcome.status, outcome.error) == ("retry", "http_401:SIGNATURE_INVALID")
    assert gateway.app[SMS].outbox == []
