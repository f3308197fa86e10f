"""Home feed fan-out against slow provincial upstreams, measured side by side in one run.

The sandbox is told to answer every provincial call after 80 ms. Then:

- cold: each request is the first home screen of a different resident (nothing cached), so
  both cards must reach the province; target p50 and p99 within 1.2x the slowest upstream's
  latency, since the cards (and the calls inside each card) run concurrently;
- warm: the same resident again (fresh copies), interleaved with the bare
  ``GET /health/live`` on the same server; target warm home p50 within 3x the bare p50.

    .venv/bin/python -m bench.home_fanout [--residents 200] [--warm 1000] [--latency-ms 80]
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app_api.demo import demo_phone
from tests.live import LiveService, free_port, start_service

SEED = 2026


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _login(service: LiveService, sandbox: str, phone: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.login(phone, sandbox=sandbox)}"}


def _timed(
    client: httpx.Client, path: str, headers: dict[str, str]
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    resp = client.get(path, headers=headers)
    return (time.perf_counter() - started) * 1000, resp


def _start_sandbox() -> tuple[subprocess.Popen, str]:
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
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("sandbox did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--residents", type=int, default=200, help="cold home screens (one per resident)"
    )
    parser.add_argument(
        "--warm", type=int, default=1000, help="warm home screens (and as many bare requests)"
    )
    parser.add_argument("--latency-ms", type=int, default=80)
    args = parser.parse_args()
    extra = {
        k: v for k, v in os.environ.items() if k in ("SUPERAPP_DATABASE_URL", "SUPERAPP_REDIS_URL")
    }
    extra.update(
        {
            "SUPERAPP_LOG_LEVEL": "WARNING",
            "SUPERAPP_OTP_RESEND_INTERVAL_S": "0",
            "SUPERAPP_OTP_PER_PHONE_PER_HOUR": "1000000",
            "SUPERAPP_OTP_PER_IP_PER_HOUR": "1000000",
        }
    )
    sandbox, sandbox_url = _start_sandbox()
    extra.update(
        {"SUPERAPP_SANDBOX": "false", "SUPERAPP_SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1]}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            service = start_service(Path(tmp), extra, residents=args.residents + 50)
            # The measuring client must not pause for its own garbage collection inside a
            # timed request (timeit does the same); the server runs as it always does.
            gc.collect()
            gc.disable()
            try:
                cold, warm, bare, statuses = _measure(service, sandbox_url, args)
            finally:
                gc.enable()
                service.stop()
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(10)
    slowest = args.latency_ms
    print(
        f"upstream latency {slowest} ms on each provincial upstream; {args.residents} cold, {args.warm} warm requests"
    )
    print(f"{'':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, values in (
        ("cold /api/v1/home", cold),
        ("warm /api/v1/home", warm),
        ("bare /health/live", bare),
    ):
        print(
            f"{name:<28}{_pct(values, 0.5):>9.1f}{_pct(values, 0.99):>9.1f}{statistics.fmean(values):>9.1f}"
        )
    print(
        f"cold home / slowest upstream: p50 {_pct(cold, 0.5) / slowest:.2f}x, "
        f"p99 {_pct(cold, 0.99) / slowest:.2f}x (target <= 1.2)"
    )
    print(
        f"warm home / bare endpoint:    p50 {_pct(warm, 0.5) / _pct(bare, 0.5):.2f}x (target <= 3)"
    )
    print(
        f"card statuses on the cold run: { {s: statuses.count(s) for s in sorted(set(statuses))} }"
    )


def _measure(service: LiveService, sandbox_url: str, args: argparse.Namespace):
    with httpx.Client(base_url=service.api, timeout=10) as client:
        sessions = [
            _login(service, sandbox_url, demo_phone(i, SEED)) for i in range(args.residents + 1)
        ]
        for upstream in ("social_security", "housing_fund"):
            httpx.put(
                f"{sandbox_url}/admin/faults/{upstream}",
                json={"kind": "latency", "latency_ms": args.latency_ms},
            ).raise_for_status()
        client.get(
            "/api/v1/home", headers=sessions.pop()
        ).raise_for_status()  # open upstream connections
        cold: list[float] = []
        statuses: list[str] = []
        for headers in sessions:
            ms, resp = _timed(client, "/api/v1/home", headers)
            cold.append(ms)
            statuses.extend(c["status"] for c in resp.json()["cards"])
        warm: list[float] = []
        bare: list[float] = []
        for i in range(args.warm):
            pair = [("/api/v1/home", sessions[0], warm), ("/health/live", {}, bare)]
            for path, headers, samples in pair if i % 2 else reversed(pair):
                samples.append(_timed(client, path, headers)[0])
    return cold, warm, bare, statuses


if __name__ == "__main__":
    main()
