"""The provincial gateway's one transport: signed requests, bounded time, safe retries, a
breaker per upstream, the sealed cache and the audit hook.

Upstream clients (``population.py``, ``enterprise.py``, and those mini-programs bring) are thin
typed wrappers over :meth:`Gateway.read`, :meth:`Gateway.write` and :meth:`Gateway.verify`;
everything an upstream has in common with the others lives here, once.

Every method that returns personal data calls the ``audit`` hook it is given, with the
purpose, before returning, whether the answer came from the upstream or from the cache.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import aiohttp
import msgspec
import structlog
from redis.asyncio import Redis

from integrations import clock as calendar_clock
from integrations.provincial.breaker import CircuitBreaker
from integrations.provincial.cache import ResponseCache
from integrations.provincial.errors import UpstreamRejected, UpstreamUnavailable
from integrations.provincial.models import Envelope
from integrations.provincial.policy import UpstreamPolicy
from integrations.signing import signed_headers

T = TypeVar("T")
AuditHook = Callable[[str, str, str], Awaitable[object]]  # (action, resource, purpose)
PREFIX = "/gov/v1"

log = structlog.get_logger("superapp.provincial")


class _Answer(msgspec.Struct, Generic[T], omit_defaults=True):
    """What the cache keeps: the data, or the upstream's "not found" code."""

    data: T | None = None
    rejected: str | None = None


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """An answer and how old it is. ``stale`` means the upstream failed and a copy stood in."""

    data: T
    as_of: datetime
    stale: bool = False


class Gateway:
    """One per process; holds one aiohttp session, the cache, and one breaker per upstream.

    Upstreams are added by name (:meth:`add_upstream`, which ``build_clients`` calls); a call
    to an upstream never added is a programming error, not a network one.
    """

    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret: str,
        redis: Redis,
        cache_key: bytes,
        *,
        budget_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._today = today
        self._app_id = app_id
        self._secret = secret
        # One setting (SUPERAPP_PROVINCIAL_BUDGET_S) bounds every upstream's calls alike.
        self._budget_s = budget_s
        self._clock = clock
        self.cache = ResponseCache(redis, cache_key)
        self.policies: dict[str, UpstreamPolicy] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._session: aiohttp.ClientSession | None = None
        self._random = random.Random()

    def add_upstream(self, name: str, policy: UpstreamPolicy) -> None:
        """Open the gateway to one upstream, with its own breaker. A name is taken once."""
        if name in self.policies:
            raise ValueError(f"the provincial gateway already has an upstream named {name!r}")
        if self._budget_s is not None:
            policy = msgspec.structs.replace(policy, budget_s=self._budget_s)
        self.policies[name] = policy
        self.breakers[name] = CircuitBreaker(
            policy.breaker_threshold, policy.breaker_reset_s, self._clock
        )

    def policy(self, upstream: str) -> UpstreamPolicy:
        """How patiently ``upstream`` is treated (its budget bounds every call to it)."""
        try:
            return self.policies[upstream]
        except KeyError:
            raise LookupError(
                f"upstream {upstream!r} was never added to the provincial gateway"
            ) from None

    def today(self) -> date:
        """The date the province's records run up to (``SUPERAPP_TODAY`` when pinned, for
        demos and tests; the sandbox reads the same setting)."""
        return calendar_clock.today(self._today)

    async def forget_person(self, number: str) -> int:
        """Drop every cached copy about one person (ID number or credit code)."""
        return await self.cache.forget(number)

    async def close(self) -> None:
        """Finish the cache writes under way and close the HTTP session."""
        await self.cache.settle()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- what upstream clients call ------------------------------------------------------
    async def read(
        self,
        upstream: str,
        path: str,
        query: Mapping[str, str],
        data_type: type[T],
        *,
        audit: AuditHook,
        purpose: str,
        fresh_s: int,
    ) -> Fetched[T]:
        """A safe read: a copy younger than ``fresh_s``, else the upstream (with retries),
        else a stale copy.

        "Not found" answers are facts too (no loan, no account) and are kept like data, so
        a resident without a loan does not cost a provincial call on every home screen.
        """
        key = self.cache.key_of(upstream, path, query)
        answer_type = _Answer[data_type]  # type: ignore[valid-type]
        cached = await self.cache.get(key)
        copy = (msgspec.json.decode(cached[0], type=answer_type), cached[1]) if cached else None
        if copy and time.time() - copy[1] < fresh_s:
            answer, fetched_at, stale = copy[0], copy[1], False
        else:
            stale = False
            try:
                answer = _Answer(data=await self._call(upstream, "GET", path, query, data_type))
            except UpstreamRejected as exc:
                if not exc.code.endswith("_NOT_FOUND"):
                    raise
                answer = _Answer(rejected=exc.code)
            except UpstreamUnavailable:
                if copy is None:
                    raise
                answer, fetched_at, stale = copy[0], copy[1], True
            if not stale:
                fetched_at = time.time()
                self.cache.put(
                    key, msgspec.json.encode(answer), fetched_at, self.policy(upstream).stale_ttl_s
                )
        await audit(f"provincial.{upstream}.read", path, purpose)
        if answer.rejected:
            raise UpstreamRejected(upstream, answer.rejected, 404)
        return Fetched(answer.data, _at(fetched_at), stale=stale)

    async def write(
        self,
        upstream: str,
        path: str,
        payload: Mapping[str, Any],
        data_type: type[T],
        *,
        idempotency_key: str,
        audit: AuditHook,
        purpose: str,
    ) -> T:
        """A write; retried only because the idempotency key makes a repeat harmless.

        Audited before it is sent, so that no write reaches the province without its audit
        row (a write that then fails leaves a row saying it was attempted).
        """
        await audit(f"provincial.{upstream}.write", path, purpose)
        return await self._call(
            upstream,
            "POST",
            path,
            {},
            data_type,
            body=msgspec.json.encode(payload),
            extra={"X-Idempotency-Key": idempotency_key},
        )

    async def verify(
        self,
        upstream: str,
        path: str,
        payload: Mapping[str, Any],
        data_type: type[T],
        *,
        audit: AuditHook,
        purpose: str,
    ) -> T:
        """A question that files nothing (a registry's verdict), asked at this moment.

        Never cached, retried like a read, and audited (``provincial.<upstream>.verify``)
        before it is sent: the question itself discloses personal data.
        """
        await audit(f"provincial.{upstream}.verify", path, purpose)
        return await self._call(
            upstream, "POST", path, {}, data_type, body=msgspec.json.encode(payload)
        )

    # -- transport -------------------------------------------------------------------------
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self._session

    async def _once(
        self,
        upstream: str,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: bytes,
        extra: Mapping[str, str],
        timeout_s: float,
    ) -> bytes:
        policy = self.policy(upstream)
        headers = signed_headers(self._app_id, self._secret, method, path, query, body)
        headers.update(extra)
        if body:
            headers["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(
            total=timeout_s, connect=min(policy.connect_timeout_s, timeout_s)
        )
        try:
            async with self._http().request(
                method,
                self._base + path,
                params=dict(query),
                data=body or None,
                headers=headers,
                timeout=timeout,
            ) as resp:
                payload = await resp.read()
                if resp.status == 429:
                    retry_after = resp.headers.get("Retry-After", "")
                    raise UpstreamUnavailable(
                        upstream,
                        "throttled",
                        429,
                        float(retry_after) if retry_after.isdigit() else None,
                    )
                if resp.status >= 500:
                    raise UpstreamUnavailable(upstream, "server_error", resp.status)
                if resp.status >= 400:
                    try:
                        code = msgspec.json.decode(payload, type=Envelope[None]).code
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        raise UpstreamUnavailable(upstream, "malformed", resp.status) from None
                    raise UpstreamRejected(upstream, code, resp.status)
                return payload
        except TimeoutError:
            raise UpstreamUnavailable(upstream, "timeout") from None
        except aiohttp.ClientError:
            raise UpstreamUnavailable(upstream, "unreachable") from None

    async def _call(
        self,
        upstream: str,
        method: str,
        path: str,
        query: Mapping[str, str],
        data_type: type[T],
        *,
        body: bytes = b"",
        extra: Mapping[str, str] | None = None,
    ) -> T:
        """Call with retries inside the upstream's time budget; decode the envelope's data.

        Every call may be retried: reads and verdicts file nothing, and writes carry an
        idempotency key the province deduplicates by."""
        policy = self.policy(upstream)
        breaker = self.breakers[upstream]
        deadline = time.monotonic() + policy.budget_s
        attempt = 0
        while True:
            # aiohttp reads a timeout <= 0 as "no timeout": with no time left, fail here
            # (before taking the breaker's probe) rather than send a request that may hang.
            timeout_s = min(policy.attempt_timeout_s, deadline - time.monotonic())
            if timeout_s <= 0:
                raise UpstreamUnavailable(upstream, "budget_exhausted")
            probing = breaker.state == "half_open"
            if not breaker.allow():
                raise UpstreamUnavailable(
                    upstream, "breaker_open", retry_after_s=breaker.retry_after_s()
                )
            try:
                payload = await self._once(
                    upstream, method, path, query, body, extra or {}, timeout_s
                )
                try:
                    envelope = msgspec.json.decode(payload, type=Envelope[data_type])
                except (msgspec.DecodeError, msgspec.ValidationError):
                    raise UpstreamUnavailable(upstream, "malformed") from None
                if envelope.code != "OK" or envelope.data is None:
                    raise UpstreamUnavailable(upstream, "malformed")
                breaker.record_success()
                return envelope.data
            except UpstreamRejected:
                breaker.record_success()  # it answered, and sanely
                raise
            except UpstreamUnavailable as exc:
                breaker.record_failure()
                failure = exc
                # Operators learn of a failing province from the log, not from residents.
                log.warning(
                    "upstream_failed",
                    upstream=upstream,
                    reason=exc.code,
                    attempt=attempt + 1,
                    breaker=breaker.state,
                )
            finally:
                # A probe cancelled while it waited (a card's deadline) recorded nothing;
                # after an answer this is a no-op. No await separates the two, so no other
                # task can have taken the next probe in between.
                if probing:
                    breaker.release_probe()
            attempt += 1
            delay = policy.backoff_base_s * (2 ** (attempt - 1)) * (0.5 + self._random.random())
            if failure.retry_after_s:
                delay = max(delay, failure.retry_after_s)
            out_of_time = time.monotonic() + delay + 0.05 >= deadline
            if attempt > policy.retries or out_of_time or failure.code == "malformed":
                raise failure
            await asyncio.sleep(delay)


def _at(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
