"""Home feed fan-out against slow provincial upstreams, measured side by side in one run.

The sandbox (a process of its own, as the province is another machine) answers every
provincial call after 80 ms. Against the real service (``superapp serve``):

- cold: each request is the first home screen of a different resident (nothing cached), so
  both cards must reach the province; target p50 and p99 within 1.2x the slowest upstream's
  latency, since the cards (and the calls inside each card) run concurrently;
- warm: the same resident again (fresh copies), one request at a time, interleaved with the
  bare ``GET /health/live`` on the same server; target warm home p50 within 3x the bare p50;
- throughput: 32 clients (one resident each, copies warm) send requests back to back, 10 s
  to the bare endpoint and 10 s to the warm home, in five alternating rounds (background
  load on the machine then weighs on both alike); with 1 and with 2 server processes
  (``superapp serve --workers N``); target warm home req/s >= 0.35x bare req/s.

Every card must be ``ok``, cold and warm, for residents with a bound ID number: a degraded
or unavailable card (or one that only asks for an ID number) answers faster and would
flatter the figures, so anything else, or any answer but 200, fails the run (exit 1); so
does a cold card whose data is older than its request (the run was not cold).
Targets are reported as met or missed; they do not change the exit status.

The measuring client is bench/rawhttp.py (raw keep-alive HTTP/1.1).

    .venv/bin/python -m bench.home_fanout [--residents 200] [--warm 1000] [--latency-ms 80]
                                          [--clients 32] [--seconds 10] [--rounds 5]
                                          [--processes 1,2]

Embedded defaults (SQLite + fakeredis) unless SUPERAPP_DATABASE_URL / SUPERAPP_REDIS_URL
name real servers. Two processes need a real Redis (fakeredis lives in one process). The
PostgreSQL database and the Redis database given are EMPTIED first, so that the cold run is
cold and the demo city is seeded with as many residents as the run signs in.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app_api.demo import demo_phone
from bench.rawhttp import Connection, percentile
from bench.servers import backend as backend_name
from bench.servers import empty_servers
from tests.live import LiveService, free_port, start_service

SEED = 2026
HOME, BARE = "/api/v1/home", "/health/live"


class CardFailure(RuntimeError):
    """An answer that was not 200 with every card ``ok``: the figures would lie."""


# A resident without a bound ID number gets cards that only ask for one: no province, fast.
_UNBOUND = b'"href":"/api/v1/profile/identity"'


def _cold_statuses(body: bytes, sent: datetime) -> list[str]:
    """Each card's status; ``unbound`` for one that only asks for an ID number, ``cached`` for
    one whose data is older than the request (then the run was not cold)."""
    statuses = []
    for card in json.loads(body)["cards"]:
        if any(action["href"] == "/api/v1/profile/identity" for action in card["actions"]):
            statuses.append("unbound")
        elif card["as_of"] is not None and datetime.fromisoformat(card["as_of"]) < sent:
            statuses.append("cached")
        else:
            statuses.append(card["status"])
    return statuses


def _all_ok(status: int, body: bytes) -> bool:
    """Every card ``ok`` for a resident the province knows, without decoding the JSON (the
    client must stay cheap under load)."""
    cards = body.count(b'"status":"')
    return (
        status == 200
        and cards > 0
        and body.count(b'"status":"ok"') == cards
        and _UNBOUND not in body
    )


@dataclass
class Latency:
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    cold_statuses: list[str] = field(default_factory=list)


async def _latency(api: str, tokens: list[str], warm_requests: int) -> Latency:
    """Cold homes one resident after another, then warm home and bare, one at a time."""
    out = Latency()
    conn = await Connection.open(api)
    try:
        for token in tokens[1:]:
            sent = datetime.now(UTC)
            started = time.perf_counter()
            status, body = await conn.send(conn.request(HOME, token))
            out.cold.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise CardFailure(f"cold home answered {status}: {body[:300]!r}")
            out.cold_statuses.extend(_cold_statuses(body, sent))
        if failed := [s for s in out.cold_statuses if s != "ok"]:
            counts = {s: out.cold_statuses.count(s) for s in sorted(set(out.cold_statuses))}
            raise CardFailure(f"{len(failed)} cold cards were not ok: {counts}")
        warm, bare = conn.request(HOME, tokens[1]), conn.request(BARE)
        for i in range(warm_requests):
            pair = [(warm, out.warm), (bare, out.bare)]
            for request, samples in pair if i % 2 else reversed(pair):
                started = time.perf_counter()
                status, body = await conn.send(request)
                samples.append((time.perf_counter() - started) * 1000)
                if samples is out.warm and not _all_ok(status, body):
                    raise CardFailure(f"warm home: {status} {body[:300]!r}")
                if samples is out.bare and status != 200:
                    raise CardFailure(f"bare endpoint answered {status}")
    finally:
        await conn.close()
    return out


@dataclass
class Rate:
    per_s: float
    p50_ms: float
    p99_ms: float


async def _burst(
    api: str, requests: list[tuple[str, str | None]], seconds: float, samples: list[float]
) -> float:
    """Each client sends its request back to back until the time is up; returns the time taken."""
    failures: list[str] = []

    async def client(path: str, token: str | None, until: float) -> None:
        conn = await Connection.open(api)
        request = conn.request(path, token)
        try:
            while time.perf_counter() < until:
                started = time.perf_counter()
                status, body = await conn.send(request)
                samples.append((time.perf_counter() - started) * 1000)
                if status != 200 or (path == HOME and not _all_ok(status, body)):
                    failures.append(f"{path}: {status} {body[:200]!r}")
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(path, token, started + seconds) for path, token in requests))
    if failures:
        raise CardFailure(f"{len(failures)} answers under load were not ok, e.g. {failures[0]}")
    return time.perf_counter() - started


async def _throughput(
    api: str, tokens: list[str], seconds: float, rounds: int
) -> tuple[Rate, Rate]:
    """Bare and warm home, ``seconds`` each, in alternating rounds: whatever else the machine
    does meanwhile weighs on both alike, so their ratio holds."""
    runs = {BARE: [(BARE, None)] * len(tokens), HOME: [(HOME, token) for token in tokens]}
    samples: dict[str, list[float]] = {BARE: [], HOME: []}
    elapsed = dict.fromkeys(runs, 0.0)
    for i in range(rounds):
        for path in (BARE, HOME) if i % 2 == 0 else (HOME, BARE):
            elapsed[path] += await _burst(api, runs[path], seconds / rounds, samples[path])
    bare, home = (
        Rate(
            len(samples[p]) / elapsed[p], percentile(samples[p], 0.5), percentile(samples[p], 0.99)
        )
        for p in (BARE, HOME)
    )
    return bare, home


def _start_sandbox(latency_ms: int) -> tuple[subprocess.Popen, str]:
    """The province is another machine: its simulator gets its own process, not the API's loop."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app_api", "sandbox"],
        env={**os.environ, "SUPERAPP_SANDBOX_PORT": str(port)},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/sms/outbox", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("sandbox did not start")
    for upstream in ("social_security", "housing_fund"):
        httpx.put(
            f"{url}/admin/faults/{upstream}", json={"kind": "latency", "latency_ms": latency_ms}
        ).raise_for_status()
    return process, url


def _tokens(service: LiveService, sandbox_url: str, count: int) -> list[str]:
    return [service.login(demo_phone(i, SEED), sandbox=sandbox_url) for i in range(count)]


def _open_upstreams(service: LiveService, token: str) -> None:
    """One home first, so that the cold run does not pay for opening upstream connections."""
    httpx.get(f"{service.api}{HOME}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _warm_up(service: LiveService, tokens: list[str]) -> None:
    """One home per resident, so that every copy is fresh; each must be all ``ok``."""
    with httpx.Client(base_url=service.api, timeout=10) as client:
        for token in tokens:
            resp = client.get(HOME, headers={"Authorization": f"Bearer {token}"})
            if not _all_ok(resp.status_code, resp.content):
                raise CardFailure(f"home before the throughput run: {resp.status_code} {resp.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--residents", type=int, default=200, help="cold home screens (one per resident)"
    )
    parser.add_argument(
        "--warm", type=int, default=1000, help="warm home screens (and as many bare requests)"
    )
    parser.add_argument("--latency-ms", type=int, default=80)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint, under load")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two endpoints")
    parser.add_argument("--processes", default="1,2", help="server processes to measure")
    args = parser.parse_args()
    processes = [int(n) for n in args.processes.split(",")]
    backend = backend_name()
    try:
        report = _run(args, processes, backend)
    except CardFailure as failure:
        sys.exit(f"FAILED: {failure}")
    _print(args, backend, *report)


def _run(
    args: argparse.Namespace, processes: list[int], backend: str
) -> tuple[Latency, dict[int, Rate | str], dict[int, Rate | str]]:
    extra = {
        k: v for k, v in os.environ.items() if k in ("SUPERAPP_DATABASE_URL", "SUPERAPP_REDIS_URL")
    }
    extra.update(
        {
            "SUPERAPP_LOG_LEVEL": "WARNING",
            "SUPERAPP_OTP_RESEND_INTERVAL_S": "0",
            "SUPERAPP_OTP_PER_PHONE_PER_HOUR": "1000000",
            "SUPERAPP_OTP_PER_IP_PER_HOUR": "1000000",
            "SUPERAPP_LOGIN_PER_IP_PER_HOUR": "1000000",
        }
    )
    empty_servers()
    sandbox, sandbox_url = _start_sandbox(args.latency_ms)
    extra.update(
        {"SUPERAPP_SANDBOX": "false", "SUPERAPP_SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1]}
    )
    latency: Latency | None = None
    bare: dict[int, Rate | str] = {}
    home: dict[int, Rate | str] = {}
    residents = max(args.residents + 1, args.clients)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in processes:
                if n > 1 and "fakeredis" in backend:
                    bare[n] = home[n] = "skipped: needs a Redis server shared by the processes"
                    continue
                service = start_service(
                    Path(tmp), {**extra, "SUPERAPP_WORKERS": str(n)}, residents=residents + 50
                )
                # The measuring client must not pause for its own garbage collection inside a
                # timed request (timeit does the same); the server runs as it always does.
                gc.collect()
                gc.disable()
                try:
                    if latency is None:
                        tokens = _tokens(service, sandbox_url, args.residents + 1)
                        _open_upstreams(service, tokens[0])
                        latency = asyncio.run(_latency(service.api, tokens, args.warm))
                    tokens = _tokens(service, sandbox_url, args.clients)
                    _warm_up(service, tokens)
                    bare[n], home[n] = asyncio.run(
                        _throughput(service.api, tokens, args.seconds, args.rounds)
                    )
                finally:
                    gc.enable()
                    service.stop()
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(10)
    if latency is None:
        raise SystemExit("nothing measured: --processes must include 1")
    return latency, bare, home


def _print(
    args: argparse.Namespace,
    backend: str,
    latency: Latency,
    bare: dict[int, Rate | str],
    home: dict[int, Rate | str],
) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    slowest = args.latency_ms
    print(
        f"{backend}; upstream latency {slowest} ms on each provincial upstream; "
        f"{args.residents} cold, {args.warm} warm requests, one at a time (1 process)"
    )
    print(f"{'':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, values in (
        (f"cold {HOME}", latency.cold),
        (f"warm {HOME}", latency.warm),
        (f"bare {BARE}", latency.bare),
    ):
        print(
            f"{name:<28}{percentile(values, 0.5):>9.2f}{percentile(values, 0.99):>9.2f}{statistics.fmean(values):>9.2f}"
        )
    cold50, cold99 = (
        percentile(latency.cold, 0.5) / slowest,
        percentile(latency.cold, 0.99) / slowest,
    )
    print(
        f"cold home / slowest upstream: p50 {cold50:.2f}x, p99 {cold99:.2f}x "
        f"(target <= 1.2: {verdict(max(cold50, cold99) <= 1.2)})"
    )
    warm_ratio = percentile(latency.warm, 0.5) / percentile(latency.bare, 0.5)
    print(
        f"warm home / bare endpoint:    p50 {warm_ratio:.2f}x (target <= 3: {verdict(warm_ratio <= 3)})"
    )
    counts = {s: latency.cold_statuses.count(s) for s in sorted(set(latency.cold_statuses))}
    print(f"card statuses on the cold run: {counts}; warm and under load: all ok too")
    print(
        f"\nthroughput: {args.clients} clients, {args.seconds:g} s per endpoint "
        f"in {args.rounds} alternating rounds"
    )
    print(
        f"{'processes':<11}{'bare req/s':>11}{'home req/s':>11}{'ratio':>8}"
        f"{'bare p50 ms':>13}{'home p50 ms':>13}{'home p99 ms':>13}"
    )
    for n in bare:
        b, h = bare[n], home[n]
        if isinstance(b, str) or isinstance(h, str):
            print(f"{n:<11}{b}")
            continue
        ratio = h.per_s / b.per_s
        print(
            f"{n:<11}{b.per_s:>11.0f}{h.per_s:>11.0f}{ratio:>8.2f}"
            f"{b.p50_ms:>13.2f}{h.p50_ms:>13.2f}{h.p99_ms:>13.2f}"
            f"   (target >= 0.35: {verdict(ratio >= 0.35)})"
        )


if __name__ == "__main__":
    main()
