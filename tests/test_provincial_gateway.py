"""The provincial gateway and its clients against the sandbox: signing, faults, retries,
breaker, stale-on-error."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aiohttp
import msgspec
import pytest
from redis.asyncio import Redis

from app_api import kv, logs
from app_api.miniprogram import upstreams
from integrations.provincial import (
    Gateway,
    UpstreamPolicy,
    UpstreamRejected,
    UpstreamUnavailable,
    build_clients,
)
from integrations.provincial.cache import KEY_PREFIX
from integrations.provincial.enterprise import enterprise_client
from integrations.provincial.population import population_client
from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from integrations.signing import canonical, signed_headers, verify
from miniprograms.social_security.upstream import SocialSecurityUpstream, social_security_client
from tests.conftest import APP_ID, APP_SECRET, Sandbox, age_upstream_copies

PERSON = "321302198503120137"
SUMMARY = "/gov/v1/social-security/summary"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Audit:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def __call__(self, action: str, resource: str, purpose: str) -> None:
        self.calls.append((action, resource, purpose))


@dataclass
class Province:
    """The gateway and every upstream's client, as the service builds them."""

    gateway: Gateway
    clients: dict[str, object]

    @property
    def social(self) -> SocialSecurityUpstream:
        return social_security_client(self.clients)


def _province(
    url: str,
    redis: Redis,
    *,
    secret: str = APP_SECRET,
    clock: Clock | None = None,
    policies: dict[str, UpstreamPolicy] | None = None,
) -> Province:
    gateway = Gateway(url, APP_ID, secret, redis, b"c" * 32, clock=clock or time.monotonic)
    specs = [replace(u, policy=(policies or {}).get(u.name, u.policy)) for u in upstreams()]
    return Province(gateway, build_clients(gateway, specs))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def province(sandbox: Sandbox, redis_url: str, clock: Clock) -> AsyncIterator[Province]:
    redis = kv.connect(redis_url)
    policy = UpstreamPolicy(
        attempt_timeout_s=0.3, budget_s=0.8, retries=2, breaker_threshold=3, breaker_reset_s=30
    )
    p = _province(sandbox.url, redis, clock=clock, policies={u.name: policy for u in upstreams()})
    yield p
    await p.gateway.close()
    await redis.aclose()


def _fault(sandbox: Sandbox, kind: str, **kw) -> None:
    sandbox.app[FAULTS].set("social_security", Fault(kind=kind, **kw))


# signing --------------------------------------------------------------------------------
def test_the_signature_covers_every_part_and_ignores_query_order() -> None:
    base = canonical("GET", "/p", {"a": "1", "b": "2"}, "100", "n", b"")
    assert base == canonical("get", "/p", {"b": "2", "a": "1"}, "100", "n", b"")
    for changed in (
        canonical("POST", "/p", {"a": "1", "b": "2"}, "100", "n", b""),
        canonical("GET", "/q", {"a": "1", "b": "2"}, "100", "n", b""),
        canonical("GET", "/p", {"a": "1", "b": "3"}, "100", "n", b""),
        canonical("GET", "/p", {"a": "1", "b": "2"}, "101", "n", b""),
        canonical("GET", "/p", {"a": "1", "b": "2"}, "100", "m", b""),
        canonical("GET", "/p", {"a": "1", "b": "2"}, "100", "n", b"{}"),
    ):
        assert changed != base
    headers = signed_headers("app", "secret", "GET", "/p", {"a": "1"}, b"")
    args = ("GET", "/p", {"a": "1"}, headers["X-Timestamp"], headers["X-Nonce"], b"")
    assert verify("secret", *args, headers["X-Signature"]) is None
    assert verify("other", *args, headers["X-Signature"]) == "signature"
    assert verify("secret", *args, headers["X-Signature"], now=time.time() + 301) == "skew"


async def _raw(sandbox: Sandbox, headers: dict[str, str]) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.url}{SUMMARY}", params={"id_number": PERSON}, headers=headers) as resp,
    ):
        return resp.status, msgspec.json.decode(await resp.read())


async def test_the_sandbox_rejects_bad_signatures_skew_and_replays(sandbox: Sandbox) -> None:
    good = signed_headers(APP_ID, APP_SECRET, "GET", SUMMARY, {"id_number": PERSON}, b"")
    assert (await _raw(sandbox, good))[1]["code"] == "OK"
    assert await _raw(sandbox, good) == (
        401,
        {"code": "NONCE_REPLAYED", "message": "nonce already used"},
    )
    forged = signed_headers(APP_ID, "wrong-secret", "GET", SUMMARY, {"id_number": PERSON}, b"")
    assert (await _raw(sandbox, forged))[1]["code"] == "SIGNATURE_INVALID"
    other_person = signed_headers(
        APP_ID, APP_SECRET, "GET", SUMMARY, {"id_number": "321311195208210247"}, b""
    )
    assert (await _raw(sandbox, other_person))[1]["code"] == "SIGNATURE_INVALID"  # query is signed
    old = signed_headers(APP_ID, APP_SECRET, "GET", SUMMARY, {"id_number": PERSON}, b"")
    old["X-Timestamp"] = str(int(old["X-Timestamp"]) - 301)
    assert (await _raw(sandbox, old))[1]["code"] == "TIMESTAMP_EXPIRED"
    stranger = signed_headers("someone", APP_SECRET, "GET", SUMMARY, {"id_number": PERSON}, b"")
    assert (await _raw(sandbox, stranger))[1]["code"] == "UNKNOWN_APP"


async def test_a_client_with_the_wrong_secret_is_refused_not_retried(
    sandbox: Sandbox, redis_url: str
) -> None:
    redis = kv.connect(redis_url)
    wrong = _province(sandbox.url, redis, secret="not-the-secret")
    with pytest.raises(UpstreamRejected) as caught:
        await wrong.social.summary(PERSON, audit=Audit(), purpose="test")
    assert caught.value.code == "SIGNATURE_INVALID"
    assert wrong.gateway.breakers["social_security"].state == "closed"
    await wrong.gateway.close()
    await redis.aclose()


# faults -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("error", "server_error"),
        ("timeout", "timeout"),
        ("throttle", "throttled"),
        ("malformed", "malformed"),
    ],
)
async def test_each_fault_without_a_copy_raises_unavailable(
    province: Province, sandbox: Sandbox, kind: str, code: str
) -> None:
    _fault(sandbox, kind)
    audit = Audit()
    with pytest.raises(UpstreamUnavailable) as caught:
        await province.social.summary(PERSON, audit=audit, purpose="test")
    assert caught.value.code == code
    assert audit.calls == []  # nothing was read, so nothing is audited


@pytest.mark.parametrize("kind", ["error", "timeout", "throttle", "malformed"])
async def test_each_fault_with_a_copy_serves_it_stale(
    province: Province, sandbox: Sandbox, kind: str
) -> None:
    audit = Audit()
    fresh = await province.social.summary(PERSON, audit=audit, purpose="test")
    assert fresh.stale is False
    # Make the copy old enough to need refreshing, then break the upstream.
    await age_upstream_copies(province.gateway.cache, 3600)
    _fault(sandbox, kind)
    stale = await province.social.summary(PERSON, audit=audit, purpose="test")
    assert stale.stale is True
    assert stale.data == fresh.data
    assert stale.as_of < fresh.as_of
    assert len(audit.calls) == 2  # a stale copy shown is still a read


async def test_a_fresh_copy_answers_without_asking(province: Province, sandbox: Sandbox) -> None:
    first = await province.social.summary(PERSON, audit=Audit(), purpose="test")
    _fault(sandbox, "error")
    again = await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert again.stale is False and again.as_of == first.as_of


async def test_transient_failures_are_retried_within_the_budget(
    province: Province, sandbox: Sandbox
) -> None:
    _fault(sandbox, "error", times=2)
    fetched = await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert fetched.stale is False
    assert province.gateway.breakers["social_security"].state == "closed"


async def test_malformed_money_is_malformed(province: Province, sandbox: Sandbox) -> None:
    _fault(sandbox, "malformed", times=1)
    with pytest.raises(UpstreamUnavailable) as caught:
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert caught.value.code == "malformed"  # not retried: the same bytes would come back


# breaker ------------------------------------------------------------------------------
async def test_breaker_opens_fails_fast_and_recovers_through_a_probe(
    province: Province, sandbox: Sandbox, clock: Clock
) -> None:
    breaker = province.gateway.breakers["social_security"]
    _fault(sandbox, "error")
    with pytest.raises(UpstreamUnavailable):
        await province.social.summary(
            PERSON, audit=Audit(), purpose="test"
        )  # three attempts: opens
    assert breaker.state == "open"
    sandbox.app[FAULTS].clear()
    with pytest.raises(UpstreamUnavailable) as caught:
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert caught.value.code == "breaker_open" and caught.value.retry_after_s == pytest.approx(30)
    clock.now += 31
    assert breaker.state == "half_open"
    fetched = await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert fetched.stale is False and breaker.state == "closed"
    # Other upstreams never noticed.
    assert province.gateway.breakers["housing_fund"].state == "closed"


async def test_a_failed_probe_opens_the_breaker_again(
    province: Province, sandbox: Sandbox, clock: Clock
) -> None:
    breaker = province.gateway.breakers["social_security"]
    _fault(sandbox, "error")
    with pytest.raises(UpstreamUnavailable):
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    clock.now += 31
    with pytest.raises(UpstreamUnavailable):
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert breaker.state == "open"


async def test_a_cancelled_probe_gives_its_turn_back(
    province: Province, sandbox: Sandbox, clock: Clock
) -> None:
    """A probe given up on (as the home card's deadline does) must not hold the breaker
    half-open: once the upstream heals, the next call probes and closes it."""
    breaker = province.gateway.breakers["social_security"]
    _fault(sandbox, "error")
    with pytest.raises(UpstreamUnavailable):
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert breaker.state == "open"
    clock.now += 31
    _fault(sandbox, "timeout", times=1)  # the probe hangs, then the upstream is healed
    probe = asyncio.ensure_future(province.social.summary(PERSON, audit=Audit(), purpose="test"))
    while "social_security" in sandbox.app[FAULTS].snapshot():  # until the probe is upstream
        await asyncio.sleep(0.01)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    clock.now += 75
    fetched = await province.social.summary(PERSON, audit=Audit(), purpose="test")
    assert fetched.stale is False and breaker.state == "closed"


async def test_no_request_goes_out_without_time_left_for_it(
    sandbox: Sandbox, redis_url: str
) -> None:
    """An attempt's timeout comes from what is left of the budget; with nothing left, the call
    fails at once instead of going out with no timeout at all (aiohttp's reading of <= 0)."""
    redis = kv.connect(redis_url)
    spent = UpstreamPolicy(budget_s=0.0)
    c = _province(sandbox.url, redis, policies={"social_security": spent})
    # The upstream would answer, slowly; ``times`` counts down with each request it receives.
    _fault(sandbox, "latency", latency_ms=50, times=3)
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await c.social.summary(PERSON, audit=Audit(), purpose="test")
        assert caught.value.code == "budget_exhausted"
        assert sandbox.app[FAULTS].snapshot()["social_security"].times == 3  # nothing sent
        assert c.gateway.breakers["social_security"].state == "closed"  # nothing learnt either
    finally:
        await c.gateway.close()
        await redis.aclose()


async def test_the_cache_holds_no_readable_personal_data(province: Province) -> None:
    await province.social.summary(PERSON, audit=Audit(), purpose="test")
    await province.gateway.cache.settle()
    redis = province.gateway.cache.redis
    keys = await redis.keys(f"{KEY_PREFIX}*")
    assert keys and all(PERSON not in k for k in keys)
    for key in keys:
        sealed = await redis.get(key)
        assert "months_paid" not in sealed and "宿迁" not in sealed


# profiles for policy matching --------------------------------------------------------------
async def test_profiles_are_released_only_with_a_consent_reference(
    province: Province,
) -> None:
    audit = Audit()
    person = await population_client(province.clients).profile(
        PERSON, consent_ref="consent-2026-0001", audit=audit, purpose="policy_matching"
    )
    assert (person.data.birth_date, person.data.gender, person.data.hukou_district) == (
        "1985-03-12",
        "M",
        "321302",
    )
    company = await enterprise_client(province.clients).profile(
        "91350100M000100Y43",
        consent_ref="consent-2026-0002",
        audit=audit,
        purpose="policy_matching",
    )
    assert company.data.registered_capital_fen % 100 == 0 and company.data.status == "active"
    assert [call[2] for call in audit.calls] == ["policy_matching", "policy_matching"]
    with pytest.raises(UpstreamRejected) as caught:
        await population_client(province.clients).profile(
            "321311195208210247", consent_ref="", audit=audit, purpose="policy_matching"
        )
    assert caught.value.code == "CONSENT_REQUIRED"
    assert len(audit.calls) == 2  # a refusal discloses nothing, so nothing is audited


async def test_copies_read_together_go_each_to_their_own_reader(
    province: Province, sandbox: Sandbox
) -> None:
    """Concurrent reads share one Redis round trip; no one gets another person's copy."""
    people = [PERSON, "321311195208210247", "321302199007150021"]
    first = [await province.social.summary(p, audit=Audit(), purpose="test") for p in people]
    _fault(sandbox, "error")  # from here on, only the copies can answer
    together = await asyncio.gather(
        *(province.social.summary(p, audit=Audit(), purpose="test") for p in people)
    )
    assert [f.data for f in together] == [f.data for f in first]
    assert len({msgspec.json.encode(f.data) for f in together}) == len(people)


async def test_a_reader_given_up_on_does_not_disturb_the_others(
    province: Province,
) -> None:
    await province.social.summary(PERSON, audit=Audit(), purpose="test")
    abandoned = asyncio.ensure_future(province.social.summary(PERSON, audit=Audit(), purpose="x"))
    kept = asyncio.ensure_future(province.social.summary(PERSON, audit=Audit(), purpose="test"))
    await asyncio.sleep(0)
    abandoned.cancel()
    assert (await asyncio.wait_for(kept, 5)).stale is False
    with pytest.raises(asyncio.CancelledError):
        await abandoned


async def test_a_redis_outage_fails_every_waiting_reader(sandbox: Sandbox) -> None:
    broken = kv.connect("redis://127.0.0.1:1/0")  # nothing listens there
    c = _province(sandbox.url, broken)
    try:
        results = await asyncio.gather(
            *(c.social.summary(PERSON, audit=Audit(), purpose="test") for _ in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(r, Exception) for r in results)
    finally:
        await c.gateway.close()
        await broken.aclose()


async def test_a_failing_upstream_is_logged_as_a_warning_naming_it(
    province: Province, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("INFO", json=True)
    _fault(sandbox, "error")
    with pytest.raises(UpstreamUnavailable):
        await province.social.summary(PERSON, audit=Audit(), purpose="test")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    failed = [line for line in lines if line["event"] == "upstream_failed"]
    assert failed and all(line["level"] == "warning" for line in failed)
    assert failed[0]["upstream"] == "social_security" and failed[0]["attempt"] == 1
    assert PERSON not in json.dumps(lines)
