"""The push channel's HTTP layer: httpx's own pool against the aiohttp transport, side by side.

    .venv/bin/python -m bench.push_transport [--requests 3000] [--concurrency 10,100]

firebase-admin sends every FCM message through an ``httpx.AsyncClient``; the push channel
swaps the sockets under it for :class:`~notifications.channels.aiohttp_transport.AiohttpTransport`.
This sends the same requests through one httpx client on each transport to the sandbox (its
own process, as FCM is another machine), and prints requests per second and this process's
CPU time per request for each, and their ratio. Every answer must be a 200 (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.fanout import start_sandbox
from notifications.channels.aiohttp_transport import AiohttpTransport
from tests.live import free_port


async def _run(
    client: httpx.AsyncClient, url: str, requests: int, concurrency: int
) -> tuple[float, float, int]:
    """Requests per second, CPU milliseconds per request, and how many were not 200."""
    gate = asyncio.Semaphore(concurrency)
    bad = 0

    async def one() -> None:
        nonlocal bad
        async with gate:
            answer = await client.get(url, params={"token": "none"})
            bad += answer.status_code != 200

    await one()  # connect before the clock starts
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    seconds = time.perf_counter() - started
    return requests / seconds, (time.process_time() - cpu) / requests * 1000, bad


async def main(args: argparse.Namespace) -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmpdir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERAPP_")}
        env.update(
            SUPERAPP_SANDBOX_PORT=str(free_port()),
            SUPERAPP_DATABASE_URL=f"sqlite://{tmpdir}/sandbox.sqlite3",
        )
        sandbox, base = start_sandbox(env, Path(tmpdir))
        url = f"{base}/push/outbox"
        try:
            for concurrency in args.concurrency:
                limits = httpx.Limits(max_connections=concurrency)
                async with httpx.AsyncClient(limits=limits) as own:
                    plain = await _run(own, url, args.requests, concurrency)
                transport = AiohttpTransport(connections=concurrency)
                async with httpx.AsyncClient(transport=transport) as swapped:
                    aio = await _run(swapped, url, args.requests, concurrency)
                failed += plain[2] + aio[2]
                print(f"concurrency {concurrency}, {args.requests} requests each:")
                print(f"  httpx's own pool:   {plain[0]:7,.0f} req/s  {plain[1]:.2f} ms CPU/req")
                print(f"  aiohttp transport:  {aio[0]:7,.0f} req/s  {aio[1]:.2f} ms CPU/req")
                print(f"  ratio (aiohttp/httpx): {aio[0] / plain[0]:.1f}x the requests per second, "
                      f"{plain[1] / aio[1]:.1f}x less CPU per request")  # fmt: skip
        finally:
            sandbox.terminate()
            sandbox.wait(30)
    print("answers:", "all 200" if not failed else f"{failed} NOT 200")
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[10, 100]
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
