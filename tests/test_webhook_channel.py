"""The enterprise webhook channel against a local aiohttp receiver, and its SSRF guard."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import msgspec
import pytest
from aiohttp import web

from notifications.channels import Channel, Outgoing
from notifications.channels.webhook import (
    MAX_ATTEMPTS,
    RETRY_WINDOW_S,
    WebhookChannel,
    retry_schedule,
    sign,
    verify_signature,
)
from notifications.ssrf import WebhookUrlRefused, check_webhook_url

SECRET = "whsec-enterprise-0123456789"


@dataclass
class Receiver:
    """An enterprise's endpoint: ``/{status}`` answers that status; ``/slow`` never answers."""

    url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver(url="")

    async def hook(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        box.received.append((request.path, dict(request.headers), body))
        box.verified.append(
            verify_signature(
                SECRET,
                request.headers["X-Superapp-Timestamp"],
                body,
                request.headers["X-Superapp-Signature"],
                300,
            )
        )
        name = request.match_info["name"]
        if name == "slow":
            await box.release.wait()
        if name == "redirect":
            raise web.HTTPFound("http://127.0.0.1:1/elsewhere")
        headers = {"Retry-After": "120"} if name == "429" else {}
        return web.Response(status=int(name) if name.isdigit() else 204, headers=headers)

    app = web.Application()
    app.router.add_post("/hooks/{name}", hook)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    box.url = f"http://{host}:{port}/hooks"
    yield box
    box.release.set()
    await runner.cleanup()


async def secret_for(item: Outgoing) -> str | None:
    return None if item.recipient_id == "deleted-hook" else SECRET


def hook(url: str, delivery_id: str = "d-1", recipient: str = "ent-1") -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        recipient_id=recipient,
        address=url,
        title="惠企政策：稳岗返还",
        body="贵单位符合稳岗返还条件。",
        link="superapp://policy/p-1",
        category="policy",
    )


def fake_dns(answers: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """DNS answers a test chooses, standing in for the system resolver."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown host")
        return answers[host]

    return resolve


@pytest.fixture
async def dev_channel() -> AsyncIterator[WebhookChannel]:
    channel = WebhookChannel(secret_for, allow_private=True, timeout_s=1.0)
    yield channel
    await channel.close()


async def test_a_signed_message_is_delivered(
    receiver: Receiver, dev_channel: WebhookChannel
) -> None:
    channel: Channel = dev_channel
    [outcome] = await channel.send([hook(f"{receiver.url}/ok")])
    assert outcome.status == "sent"
    [(_, headers, body)] = receiver.received
    assert receiver.verified == [True]
    assert headers["X-Superapp-Delivery"] == "d-1"
    assert headers["Content-Type"] == "application/json"
    message = msgspec.json.decode(body)
    assert message["title"] == "惠企政策：稳岗返还"
    assert message["link"] == "superapp://policy/p-1"
    assert message["category"] == "policy"
    assert message["delivery_id"] == "d-1"
    assert datetime.fromisoformat(message["sent_at"]).tzinfo is not None


def test_verify_signature_refuses_tampering_other_secrets_and_old_timestamps() -> None:
    body = b'{"delivery_id": "d-1"}'
    now = time.time()
    ts = str(int(now))
    header = sign(SECRET, ts, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(SECRET, ts, body, header, 300, now=now)
    assert not verify_signature(SECRET, ts, body + b" ", header, 300, now=now)
    assert not verify_signature("another-secret", ts, body, header, 300, now=now)
    assert not verify_signature(SECRET, str(int(now) - 1), body, header, 300, now=now)
    assert not verify_signature(SECRET, ts, body, header, 300, now=now + 301)
    assert not verify_signature(SECRET, "soon", body, header, 300, now=now)
    assert not verify_signature(SECRET, ts, body, "sha256=签名", 300, now=now)
    # While a receiver rotates secrets, either of two signatures passes.
    assert verify_signature(SECRET, ts, body, f"sha256=00, {header}", 300, now=now)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("500", "retry", "http_500"),
        ("503", "retry", "http_503"),
        ("408", "retry", "http_408"),
        ("410", "invalid_address", "http_410"),
        ("400", "failed", "http_400"),
        ("404", "failed", "http_404"),
        ("redirect", "failed", "http_302"),  # not followed: a redirect could lead inside
    ],
)
async def test_answers_decide_the_outcome(
    receiver: Receiver, dev_channel: WebhookChannel, path: str, status: str, error: str
) -> None:
    [outcome] = await dev_channel.send([hook(f"{receiver.url}/{path}")])
    assert (outcome.status, outcome.error) == (status, error)
    assert len(receiver.received) == 1


async def test_retry_after_is_honoured(receiver: Receiver, dev_channel: WebhookChannel) -> None:
    [outcome] = await dev_channel.send([hook(f"{receiver.url}/429")])
    assert (outcome.status, outcome.retry_after_s) == ("retry", 120)


def test_retry_after_as_a_date_and_garbage() -> None:
    from notifications.channels.webhook import _retry_after

    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    assert 500 < (_retry_after(later) or 0) <= 600
    assert _retry_after("soon") is None
    assert _retry_after("999999999") == 6 * 3600


async def test_a_slow_receiver_is_retried(receiver: Receiver, dev_channel: WebhookChannel) -> None:
    [outcome] = await dev_channel.send([hook(f"{receiver.url}/slow")])
    assert (outcome.status, outcome.error) == ("retry", "timeout")


async def test_a_closed_port_is_retried(dev_channel: WebhookChannel) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [outcome] = await dev_channel.send([hook(f"http://127.0.0.1:{port}/hooks/ok")])
    assert (outcome.status, outcome.error) == ("retry", "connection")


async def test_a_batch_is_judged_item_by_item(
    receiver: Receiver, dev_channel: WebhookChannel
) -> None:
    batch = [
        hook(f"{receiver.url}/ok", "d-1"),
        hook(f"{receiver.url}/500", "d-2"),
        hook(f"{receiver.url}/ok", "d-3", recipient="deleted-hook"),
        hook("ftp://example.com/x", "d-4"),
    ]
    outcomes = await dev_channel.send(batch)
    assert [(o.delivery_id, o.status, o.error) for o in outcomes] == [
        ("d-1", "sent", None),
        ("d-2", "retry", "http_500"),
        ("d-3", "invalid_address", "hook_unknown"),
        ("d-4", "invalid_address", "url_scheme"),
    ]
    assert sorted(h["X-Superapp-Delivery"] for _, h, _ in receiver.received) == ["d-1", "d-2"]
    with pytest.raises(ValueError, match="max_batch"):
        await dev_channel.send([hook(f"{receiver.url}/ok")] * (dev_channel.max_batch + 1))


REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link_local"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::ffff:a9fe:a9fe]/hook", "link_local"),  # 169.254.169.254, mapped
    ("https://[2002:7f00:1::1]/hook", "loopback"),  # 6to4 of 127.0.0.1
    ("https://[64:ff9b::a00:1]/hook", "private"),  # NAT64 of 10.0.0.1
    ("https://[fd00::1]/hook", "private"),
    ("https://[fe80::1]/hook", "link_local"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://100.64.0.1/hook", "not_global"),
    ("https://localhost/hook", "loopback"),  # a name that resolves to loopback
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_private_destinations_are_refused_in_production(url: str, reason: str) -> None:
    with pytest.raises(WebhookUrlRefused) as refused:
        await check_webhook_url(url, allow_private=False)
    assert refused.value.reason == reason
    # Tests and development may call them (the name still has to resolve).
    await check_webhook_url(url.replace("https", "http"), allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "scheme"),
        ("ftp://hooks.example.com/x", "scheme"),
        ("https://admin:pw@hooks.example.com/x", "userinfo"),
        ("https://hooks.example.com@10.0.0.1/x", "userinfo"),
        ("https:///x", "host"),
        ("not a url", "malformed"),
        ("https://hooks.example.com/" + "x" * 3000, "too_long"),
        ("https://nowhere.invalid/x", "unresolvable"),
        ("https://hooks.example.com/x\r\nX-Injected: 1", "malformed"),
        ("https://hooks.example.com/a b", "malformed"),
    ],
)
async def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    dns = fake_dns({"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(WebhookUrlRefused) as refused:
        await check_webhook_url(url, allow_private=False, resolve=dns)
    assert refused.value.reason == reason


async def test_a_public_host_passes_unless_one_address_is_private() -> None:
    dns = fake_dns(
        {
            "hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
            "mixed.example.com": ["93.184.216.34", "10.0.0.7"],
        }
    )
    await check_webhook_url("https://hooks.example.com/x", allow_private=False, resolve=dns)
    with pytest.raises(WebhookUrlRefused, match="private"):
        await check_webhook_url("https://mixed.example.com/x", allow_private=False, resolve=dns)


async def test_the_channel_refuses_private_addresses_at_send_time(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # Registered while it resolved to a public address, the name now points at our own
    # machine (DNS rebinding): the send is refused, and nothing reaches the receiver.
    dns = fake_dns({"hooks.example.com": ["127.0.0.1"]})
    channel = WebhookChannel(secret_for, allow_private=False, resolve=dns, timeout_s=1.0)
    try:
        outcomes = await channel.send(
            [
                hook(f"https://hooks.example.com:{port}/hooks/ok", "d-1"),
                hook(f"https://127.0.0.1:{port}/hooks/ok", "d-2"),
                hook(f"https://[::ffff:127.0.0.1]:{port}/hooks/ok", "d-3"),
                hook(f"http://hooks.example.com:{port}/hooks/ok", "d-4"),
            ]
        )
    finally:
        await channel.close()
    assert [(o.status, o.error) for o in outcomes] == [
        ("invalid_address", "url_loopback"),
        ("invalid_address", "url_loopback"),
        ("invalid_address", "url_loopback"),
        ("invalid_address", "url_scheme"),
    ]
    assert receiver.received == []


async def test_the_channel_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """The name is looked up once, by the guard, and that answer is where aiohttp connects:
    ``.test`` names exist in no real DNS, so a second lookup would fail."""
    port = receiver.url.split(":")[2].split("/")[0]
    lookups: list[str] = []

    async def dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    channel = WebhookChannel(secret_for, allow_private=True, resolve=dns, timeout_s=1.0)
    try:
        [outcome] = await channel.send([hook(f"http://hooks.example.test:{port}/hooks/ok")])
    finally:
        await channel.close()
    assert outcome.status == "sent"
    assert lookups == ["hooks.example.test"]
    assert receiver.verified == [True]


async def test_an_unresolvable_host_is_retried() -> None:
    channel = WebhookChannel(secret_for, resolve=fake_dns({}), timeout_s=1.0)
    try:
        [outcome] = await channel.send([hook("https://gone.example.com/x")])
    finally:
        await channel.close()
    assert (outcome.status, outcome.error) == ("retry", "dns")


def test_the_retry_schedule_spans_a_day() -> None:
    delays = [retry_schedule(n) for n in range(1, MAX_ATTEMPTS)]
    assert all(d is not None and d > 0 for d in delays)
    assert sum(d or 0 for d in delays) == RETRY_WINDOW_S == 24 * 3600
    assert delays[:8] == sorted(delays[:8])  # backs off before it settles
    assert retry_schedule(MAX_ATTEMPTS) is None
    with pytest.raises(ValueError):
        retry_schedule(0)


async def test_a_name_the_resolver_cannot_even_encode_is_unresolvable_not_an_error() -> None:
    # A DNS label over 63 characters: the idna codec raises UnicodeError inside getaddrinfo.
    with pytest.raises(WebhookUrlRefused) as refused:
        await check_webhook_url(f"https://{'a' * 64}.com/x", allow_private=False)
    assert refused.value.reason == "unresolvable"
