"""What authentication costs per request, measured side by side in one run.

Starts the real service (``superapp serve``, embedded defaults unless SUPERAPP_DATABASE_URL /
SUPERAPP_REDIS_URL are set), signs in a demo resident, then interleaves requests to

- ``GET /health/live``: a bare public endpoint (routing, middleware, JSON), and
- ``GET /api/v1/me``: the same plus the default-deny guard (two Redis reads by key) and
  the account lookup in the database,

and prints p50/p99 of each and their ratio. Interleaving keeps both under the same load.

    .venv/bin/python -m bench.auth_overhead [--requests 2000] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.rawhttp import percentile
from tests.live import start_service


async def _run(api: str, token: str, requests: int, concurrency: int) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        auth = {"Authorization": f"Bearer {token}"}
        targets = {
            "bare /health/live": ("/health/live", {}),
            "authenticated /api/v1/me": ("/api/v1/me", auth),
        }
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for path, headers in targets.values():  # warm up
            for _ in range(50):
                (await client.get(path, headers=headers)).raise_for_status()

        async def worker(n: int) -> None:
            for i in range(n):
                for name, (path, headers) in (
                    targets.items() if i % 2 else reversed(targets.items())
                ):
                    started = time.perf_counter()
                    resp = await client.get(path, headers=headers)
                    samples[name].append((time.perf_counter() - started) * 1000)
                    resp.raise_for_status()

        per_worker = requests // concurrency
        await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    extra = {
        k: v for k, v in os.environ.items() if k in ("SUPERAPP_DATABASE_URL", "SUPERAPP_REDIS_URL")
    }
    extra["SUPERAPP_LOG_LEVEL"] = "WARNING"
    with tempfile.TemporaryDirectory() as tmp:
        service = start_service(Path(tmp), extra)
        try:
            samples = asyncio.run(
                _run(service.api, service.login("13800000001"), args.requests, args.concurrency)
            )
        finally:
            service.stop()
    bare, authed = samples["bare /health/live"], samples["authenticated /api/v1/me"]
    print(f"{'endpoint':<28}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, values in samples.items():
        print(
            f"{name:<28}{percentile(values, 0.5):>10.2f}{percentile(values, 0.99):>10.2f}{statistics.fmean(values):>10.2f}"
        )
    print(
        f"ratio authenticated/bare: p50 {percentile(authed, 0.5) / percentile(bare, 0.5):.2f}x, "
        f"p99 {percentile(authed, 0.99) / percentile(bare, 0.99):.2f}x  "
        f"({args.requests} requests each, concurrency {args.concurrency})"
    )


if __name__ == "__main__":
    main()
