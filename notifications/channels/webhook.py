"""Enterprise webhooks: each message POSTed as signed JSON to the enterprise's HTTPS URL.

What the receiver gets::

    POST <the registered URL>
    Content-Type: application/json
    X-Superapp-Timestamp: 1767600000             (Unix seconds, when we signed)
    X-Superapp-Delivery: <delivery id>           (the same on every retry of one message)
    X-Superapp-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

    {"delivery_id": "...", "category": "policy", "priority": "normal", "title": "...",
     "body": "...", "link": "superapp://policy/..." | null, "sent_at": "2026-01-05T08:00:00Z"}

To verify, compute the HMAC over the timestamp header's exact text, a ``.``, and the raw
body bytes (before any JSON parsing) with the secret shown when the hook was registered;
compare in constant time with the hex after ``sha256=``, and refuse timestamps more than
five minutes from your clock (:func:`verify_signature` does all three). A delivery may
arrive more than once (a retry after a lost answer): deduplicate on
``X-Superapp-Delivery``.

Answers: any 2xx is delivered. ``410 Gone`` means "stop": the hook is forgotten. ``408``,
``429`` and ``5xx``, timeouts and connection failures are tried again (``Retry-After``
honoured, in seconds or as an HTTP date) on :func:`retry_schedule`, for 24 hours. Other
answers, redirects included (never followed), fail the message.

Where we connect is guarded (see ``notifications.ssrf``): the host is resolved once per
connection by a resolver that refuses private addresses, and aiohttp connects to exactly
the addresses it returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
import msgspec
from aiohttp.abc import AbstractResolver, ResolveResult

from notifications.channels.base import Outcome, Outgoing
from notifications.ssrf import (
    Resolve,
    WebhookUrlRefused,
    address_refusal,
    parse_webhook_url,
    resolve_checked,
    system_resolve,
)

# The secret of the hook an Outgoing is for (its address is the URL, its recipient the
# enterprise); None when the hook no longer exists. Sync or async.
SecretFor = Callable[[Outgoing], Awaitable[str | None] | str | None]

SIGNATURE_TOLERANCE_S = 300
MAX_RETRY_AFTER_S = 6 * 3600  # a receiver's Retry-After is honoured up to this
# Seconds to wait after the n-th failed attempt (n = 1, 2, ...): the last retry falls at
# exactly 24 h after the first attempt, after which the dispatcher gives up and disables.
RETRY_DELAYS_S = (60, 300, 900, 1800, 3600, 7200, 14400, 21600, 21600, 14940)
RETRY_WINDOW_S = sum(RETRY_DELAYS_S)  # 86,400
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1


def retry_schedule(attempt: int) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next;
    ``None`` once the 24 h are spent (give up: disable the hook, tell the admin)."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    return float(RETRY_DELAYS_S[attempt - 1]) if attempt <= len(RETRY_DELAYS_S) else None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Superapp-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """For receivers: is ``header`` our signature of ``body`` at a ``timestamp`` within
    ``tolerance_s`` of now? ``header`` may list several ``sha256=`` values, comma-separated
    (one per secret while a receiver rotates)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode()
    return any(
        hmac.compare_digest(expected, part.strip().encode())
        for part in header.split(",")
        if part.strip().isascii()
    )


class WebhookMessage(msgspec.Struct, frozen=True, kw_only=True):
    """The JSON body a receiver gets."""

    delivery_id: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    sent_at: datetime


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver for webhooks: one lookup, every address checked, only those used."""

    def __init__(self, *, allow_private: bool, resolve: Resolve) -> None:
        self._allow_private = allow_private
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The checked addresses of ``host``; raises WebhookUrlRefused for a bad one."""
        addresses = await resolve_checked(
            host, port, allow_private=self._allow_private, resolve=self._resolve
        )
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release."""


class WebhookChannel:
    """The ``webhook`` channel: ``Outgoing.address`` is the hook's URL."""

    name = "webhook"

    def __init__(
        self,
        secret_for: SecretFor,
        *,
        allow_private: bool = False,
        resolve: Resolve = system_resolve,
        max_batch: int = 20,
        concurrency: int = 8,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``allow_private``: admit http and private addresses (tests, development only).
        ``resolve``: the DNS lookup (the system's, unless a test injects answers)."""
        self._secret_for = secret_for
        self._allow_private = allow_private
        self._resolve = resolve
        self.max_batch = max_batch
        self._concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(5.0, timeout_s))
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """POST each message of ``batch``; one outcome per item, in order, never raising."""
        if len(batch) > self.max_batch:
            raise ValueError(f"a batch of {len(batch)} exceeds max_batch={self.max_batch}")
        return list(await asyncio.gather(*(self._send_one(item) for item in batch)))

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=self._allow_private, resolve=self._resolve),
                use_dns_cache=False,  # every new connection is checked against fresh DNS
                limit=self._concurrency * 2,
            )
            # trust_env stays off: a proxy from the environment would connect for us,
            # past the guard.
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def _send_one(self, item: Outgoing) -> Outcome:
        delivery_id = item.delivery_id
        try:
            url = parse_webhook_url(item.address, allow_private=self._allow_private)
            host = (url.raw_host or "").strip("[]")
            # aiohttp does not resolve an IP literal, so the guard must see it here.
            literal = _is_ip(host)
            if literal and not self._allow_private and (reason := address_refusal(host)):
                raise WebhookUrlRefused(reason, "a refused address")
        except WebhookUrlRefused as exc:
            return Outcome(
                delivery_id=delivery_id, status="invalid_address", error=f"url_{exc.reason}"
            )
        secret = self._secret_for(item)
        if inspect.isawaitable(secret):
            secret = await secret
        if secret is None:
            return Outcome(delivery_id=delivery_id, status="invalid_address", error="hook_unknown")
        now = self._clock()
        timestamp = str(int(now))
        body = msgspec.json.encode(
            WebhookMessage(
                delivery_id=delivery_id,
                category=item.category,
                priority=item.priority,
                title=item.title,
                body=item.body,
                link=item.link,
                sent_at=datetime.fromtimestamp(int(now), UTC),
            )
        )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "superapp-webhook/1",
            "X-Superapp-Timestamp": timestamp,
            "X-Superapp-Delivery": delivery_id,
            "X-Superapp-Signature": sign(secret, timestamp, body),
        }
        async with self._limit:
            try:
                async with self._client().post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as resp:
                    return _judge(delivery_id, resp.status, resp.headers.get("Retry-After"))
            except WebhookUrlRefused as exc:  # the host now resolves somewhere refused
                return Outcome(
                    delivery_id=delivery_id, status="invalid_address", error=f"url_{exc.reason}"
                )
            except aiohttp.InvalidURL:
                return Outcome(delivery_id=delivery_id, status="invalid_address", error="url")
            except TimeoutError:
                return Outcome(delivery_id=delivery_id, status="retry", error="timeout")
            except aiohttp.ClientConnectorDNSError:
                return Outcome(delivery_id=delivery_id, status="retry", error="dns")
            except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError):
                return Outcome(delivery_id=delivery_id, status="retry", error="tls")
            except (aiohttp.ClientError, OSError):
                return Outcome(delivery_id=delivery_id, status="retry", error="connection")


def _judge(delivery_id: str, status: int, retry_after: str | None) -> Outcome:
    error = f"http_{status}"
    if 200 <= status < 300:
        return Outcome(delivery_id=delivery_id, status="sent")
    if status == 410:
        return Outcome(delivery_id=delivery_id, status="invalid_address", error=error)
    if status in (408, 429) or status >= 500:
        return Outcome(
            delivery_id=delivery_id,
            status="retry",
            error=error,
            retry_after_s=_retry_after(retry_after),
        )
    return Outcome(delivery_id=delivery_id, status="failed", error=error)


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds or as an HTTP date, bounded; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT by definition
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.split("%")[0])
    except OSError:
        return False
    return True
