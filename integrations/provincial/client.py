"""The provincial gateway client: signed requests, bounded time, safe retries, breaker, cache.

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
from integrations.provincial import models as m
from integrations.provincial.breaker import CircuitBreaker
from integrations.provincial.cache import ResponseCache
from integrations.provincial.errors import UpstreamError, UpstreamRejected, UpstreamUnavailable
from integrations.provincial.policy import UPSTREAMS, UpstreamPolicy
from integrations.signing import signed_headers

T = TypeVar("T")
AuditHook = Callable[[str, str, str], Awaitable[object]]  # (action, resource, purpose)
PREFIX = "/gov/v1"

# How long a fresh copy answers without asking the upstream, per endpoint.
FRESH_S = {
    "summary": 300,
    "contributions": 3600,
    "pension-payments": 3600,
    "account": 300,
    "transactions": 600,
    "loan": 600,
    "profile": 3600,
}

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


class ProvincialClient:
    """One per process; holds one aiohttp session and one breaker per upstream."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret: str,
        redis: Redis,
        cache_key: bytes,
        *,
        policies: Mapping[str, UpstreamPolicy] | None = None,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._today = today
        self._app_id = app_id
        self._secret = secret
        self.cache = ResponseCache(redis, cache_key)
        self.policies = {name: (policies or {}).get(name, UpstreamPolicy()) for name in UPSTREAMS}
        self.breakers = {
            name: CircuitBreaker(p.breaker_threshold, p.breaker_reset_s, clock)
            for name, p in self.policies.items()
        }
        self._session: aiohttp.ClientSession | None = None
        self._random = random.Random()

    def today(self) -> date:
        """The date the province's records run up to (``SUPERAPP_TODAY`` when pinned, for
        demos and tests; the sandbox reads the same setting)."""
        return calendar_clock.today(self._today)

    async def close(self) -> None:
        await self.cache.settle()
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        policy = self.policies[upstream]
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
                        code = msgspec.json.decode(payload, type=m.Envelope[None]).code
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
        retry: bool,
    ) -> T:
        """Call with retries inside the upstream's time budget; decode the envelope's data."""
        policy = self.policies[upstream]
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
                    envelope = msgspec.json.decode(payload, type=m.Envelope[data_type])
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
            if not retry or attempt > policy.retries or out_of_time or failure.code == "malformed":
                raise failure
            await asyncio.sleep(delay)

    async def _read(
        self,
        upstream: str,
        endpoint: str,
        query: Mapping[str, str],
        data_type: type[T],
        *,
        audit: AuditHook,
        purpose: str,
        path: str | None = None,
        fresh_s: int | None = None,
    ) -> Fetched[T]:
        """A safe read: fresh copy, else the upstream (with retries), else a stale copy.

        "Not found" answers are facts too (no loan, no account) and are kept like data, so
        a resident without a loan does not cost a provincial call on every home screen.
        """
        path = path or f"{PREFIX}/{upstream.replace('_', '-')}/{endpoint}"
        key = self.cache.key_of(upstream, path, query)
        answer_type = _Answer[data_type]  # type: ignore[valid-type]
        cached = await self.cache.get(key)
        copy = (msgspec.json.decode(cached[0], type=answer_type), cached[1]) if cached else None
        fresh_for = FRESH_S.get(endpoint, 0) if fresh_s is None else fresh_s
        if copy and time.time() - copy[1] < fresh_for:
            answer, fetched_at, stale = copy[0], copy[1], False
        else:
            stale = False
            try:
                answer = _Answer(
                    data=await self._call(upstream, "GET", path, query, data_type, retry=True)
                )
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
                    key,
                    msgspec.json.encode(answer),
                    fetched_at,
                    self.policies[upstream].stale_ttl_s,
                )
        await audit(f"provincial.{upstream}.read", path, purpose)
        if answer.rejected:
            raise UpstreamRejected(upstream, answer.rejected, 404)
        return Fetched(answer.data, _at(fetched_at), stale=stale)

    async def _write(
        self,
        upstream: str,
        path: str,
        payload: dict[str, Any],
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
        data = await self._call(
            upstream,
            "POST",
            path,
            {},
            data_type,
            body=msgspec.json.encode(payload),
            extra={"X-Idempotency-Key": idempotency_key},
            retry=True,
        )
        return data

    # -- social security -------------------------------------------------------------------
    async def social_summary(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.SocialSummary]:
        return await self._read(
            "social_security",
            "summary",
            {"id_number": id_number},
            m.SocialSummary,
            audit=audit,
            purpose=purpose,
        )

    async def contributions(
        self,
        id_number: str,
        first: str,
        last: str,
        page: int,
        page_size: int,
        *,
        audit: AuditHook,
        purpose: str,
    ) -> Fetched[m.Page[m.Contribution]]:
        query = {
            "id_number": id_number,
            "from": first,
            "to": last,
            "page": str(page),
            "page_size": str(page_size),
        }
        return await self._read(
            "social_security",
            "contributions",
            query,
            m.Page[m.Contribution],
            audit=audit,
            purpose=purpose,
        )

    async def pension_payments(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.Page[m.PensionPayment]]:
        query = {"id_number": id_number, "page": str(page), "page_size": str(page_size)}
        return await self._read(
            "social_security",
            "pension-payments",
            query,
            m.Page[m.PensionPayment],
            audit=audit,
            purpose=purpose,
        )

    async def issue_certificate(
        self, id_number: str, *, idempotency_key: str, audit: AuditHook, purpose: str
    ) -> m.Certificate:
        return await self._write(
            "social_security",
            f"{PREFIX}/social-security/certificates",
            {"id_number": id_number, "kind": "contribution_record"},
            m.Certificate,
            idempotency_key=idempotency_key,
            audit=audit,
            purpose=purpose,
        )

    # -- housing fund ----------------------------------------------------------------------
    async def fund_account(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.FundAccount]:
        return await self._read(
            "housing_fund",
            "account",
            {"id_number": id_number},
            m.FundAccount,
            audit=audit,
            purpose=purpose,
        )

    async def fund_transactions(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.Page[m.FundTransaction]]:
        query = {"id_number": id_number, "page": str(page), "page_size": str(page_size)}
        return await self._read(
            "housing_fund",
            "transactions",
            query,
            m.Page[m.FundTransaction],
            audit=audit,
            purpose=purpose,
        )

    async def fund_loan(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.FundLoan]:
        return await self._read(
            "housing_fund",
            "loan",
            {"id_number": id_number},
            m.FundLoan,
            audit=audit,
            purpose=purpose,
        )

    async def apply_withdrawal(
        self,
        id_number: str,
        reason: str,
        amount_fen: int,
        *,
        idempotency_key: str,
        audit: AuditHook,
        purpose: str,
    ) -> m.Withdrawal:
        return await self._write(
            "housing_fund",
            f"{PREFIX}/housing-fund/withdrawals",
            {"id_number": id_number, "reason": reason, "amount_fen": amount_fen},
            m.Withdrawal,
            idempotency_key=idempotency_key,
            audit=audit,
            purpose=purpose,
        )

    async def withdrawal_status(
        self, id_number: str, application_id: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[m.Withdrawal]:
        return await self._read(
            "housing_fund",
            "withdrawal",
            {"id_number": id_number},
            m.Withdrawal,
            audit=audit,
            purpose=purpose,
            path=f"{PREFIX}/housing-fund/withdrawals/{application_id}",
            fresh_s=5,
        )

    # -- profiles for policy matching (released only with consent) ---------------------------
    async def population_profile(
        self, id_number: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[m.PopulationProfile]:
        query = {"id_number": id_number, "consent_ref": consent_ref}
        return await self._read(
            "population", "profile", query, m.PopulationProfile, audit=audit, purpose=purpose
        )

    async def enterprise_profile(
        self, credit_code: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[m.EnterpriseProfile]:
        query = {"credit_code": credit_code, "consent_ref": consent_ref}
        return await self._read(
            "enterprise", "profile", query, m.EnterpriseProfile, audit=audit, purpose=purpose
        )

    # -- real-name verification --------------------------------------------------------------
    async def verify_identity(
        self, name: str, id_number: str, phone: str | None, *, audit: AuditHook, purpose: str
    ) -> m.IdentityCheck:
        """The registry's three-element check (name, ID number and, if given, the phone).

        Never cached (a verdict is asked for at the moment of binding) and retried like a
        read: it files nothing at the province.
        """
        payload: dict[str, str] = {"name": name, "id_number": id_number}
        if phone is not None:
            payload["phone"] = phone
        path = f"{PREFIX}/population/verification"
        await audit("provincial.population.verify", path, purpose)
        return await self._call(
            "population",
            "POST",
            path,
            {},
            m.IdentityCheck,
            body=msgspec.json.encode(payload),
            retry=True,
        )

    async def forget_person(self, number: str) -> int:
        """Drop every cached copy about one person (ID number or credit code)."""
        return await self.cache.forget(number)


def _at(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


__all__ = ["AuditHook", "Fetched", "ProvincialClient", "UpstreamError"]
