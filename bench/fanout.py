"""One policy notification to many residents, through the inbox and push, on PostgreSQL.

    SUPERAPP_DATABASE_URL=postgres://superapp:superapp@127.0.0.1:5432/bench_fanout \\
    SUPERAPP_REDIS_URL=redis://127.0.0.1:6390/14 \\
    .venv/bin/python -m bench.fanout [--recipients 100000] [--workers 2] [--writers 4]

The database and the Redis database given are EMPTIED first (schema dropped and migrated
again; FLUSHDB). Every recipient has one device. The run:

1. baseline: a bare bulk insert of the same notification rows (asyncpg COPY), then emptied;
2. the sandbox (its own process, as FCM is another machine) and ``--workers`` separate
   ``superapp worker`` processes are started and left idle;
3. measured: ``Outbox.notify_many`` (category ``policy``) for 500 recipients per transaction,
   ``--writers`` transactions at once, as a mini-program's job would write them, while the
   workers dispatch; the clock stops at the last delivery marked ``sent``.

Prints recipients per second, its ratio to the bulk insert (target >= 0.3), the time spent
writing and the time the dispatch trailed the writing, and checks exactly N inbox rows, N push
deliveries ``sent`` and N messages accepted by the fake FCM (exit 1 otherwise). The outbox's
clock is set to yesterday noon (China time) so quiet hours never hold the pushes back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app_api import db, notices
from app_api.miniprogram import installed
from notifications import rules
from notifications.addressed import Addressed
from tests.live import free_port

CHUNK = 500
GUARD_S = 3600.0  # a guard against workers that never finish, not a measurement


def _dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _reset(database_url: str, redis_url: str) -> None:
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    await db.migrate(database_url)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()


async def _people(conn: asyncpg.Connection, count: int) -> list[uuid.UUID]:
    """Residents with a phone and one device each (setup, not measured)."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    await conn.copy_records_to_table(
        "resident",
        columns=["id", "phone", "disability_level", "household_size", "preferred_locale",
                 "view_mode", "created_at", "updated_at"],
        records=[(i, f"13{n:09d}", 0, 1, "zh_Hans", "standard", now, now)
                 for n, i in enumerate(ids)],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "notification_device",
        columns=["id", "account_id", "token", "platform", "created_at"],
        records=[(uuid.uuid4(), i, f"fcm-bench-{n:07d}-{'x' * 32}", "android", now)
                 for n, i in enumerate(ids)],
    )  # fmt: skip
    return ids


async def _bulk_insert(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> float:
    """Seconds for a bare COPY of one notification row per recipient (then emptied again)."""
    now = datetime.now(UTC)
    params = json.dumps({"day": "28日"})
    records = [
        (uuid.uuid4(), i, "policy", "notifications.digest", params, "normal", f"b:{i}", now)
        for i in ids
    ]
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "notification",
        columns=["id", "recipient_id", "category", "template", "params", "priority",
                 "idempotency_key", "created_at"],
        records=records,
    )  # fmt: skip
    took = time.perf_counter() - started
    await conn.execute("TRUNCATE notification CASCADE")
    return took


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("w")  # a file, not a pipe nobody reads
    return subprocess.Popen(
        [sys.executable, "-m", "app_api", *args], env=env, stdout=out, stderr=out
    )


def start_sandbox(env: dict[str, str], tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = f"http://127.0.0.1:{env['SUPERAPP_SANDBOX_PORT']}"
    process = _spawn(["sandbox"], env, tmp / "sandbox.log")
    for _ in range(300):
        try:
            httpx.get(f"{url}/push/outbox", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox did not start")


async def _write(ids: list[uuid.UUID], writers: int) -> None:
    """Outbox.notify_many per CHUNK recipients, each in its transaction, ``writers`` at once."""
    yesterday_noon = datetime.combine(
        datetime.now(rules.CHINA).date() - timedelta(days=1), dtime(12), tzinfo=rules.CHINA
    ).astimezone(UTC)
    outbox = notices.build_outbox(installed(), daily_cap=3)
    outbox._clock = lambda: yesterday_noon  # out of quiet hours whatever the hour of the run
    chunks = asyncio.Queue[list[uuid.UUID]]()
    for start in range(0, len(ids), CHUNK):
        chunks.put_nowait(ids[start : start + CHUNK])

    async def writer() -> None:
        while not chunks.empty():
            chunk = chunks.get_nowait()
            to = [Addressed(str(account), f"bench:{account}") for account in chunk]
            async with in_transaction():
                await outbox.notify_many(
                    to, "policy", "notifications.digest", {"day": "28日"}, campaign="bench"
                )

    await asyncio.gather(*(writer() for _ in range(writers)))


async def _finished(conn: asyncpg.Connection, count: int, workers: list) -> datetime:
    """When the last push delivery was marked sent (waits until none is pending)."""
    deadline = time.monotonic() + GUARD_S
    while True:
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker exited; see its log")
        pending = await conn.fetchval(
            "SELECT count(*) FROM notification_delivery WHERE status = 'pending'"
        )
        total = await conn.fetchval("SELECT count(*) FROM notification_delivery")
        if pending == 0 and total >= count:
            return await conn.fetchval("SELECT max(updated_at) FROM notification_delivery")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending} deliveries still pending")
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> int:
    database_url = os.environ.get("SUPERAPP_DATABASE_URL", "")
    redis_url = os.environ.get("SUPERAPP_REDIS_URL", "")
    if not database_url.startswith(("postgres://", "asyncpg://")) or not redis_url.startswith(
        "redis://"
    ):
        sys.exit("bench.fanout: set SUPERAPP_DATABASE_URL (PostgreSQL) and SUPERAPP_REDIS_URL")
    n = args.recipients
    await _reset(database_url, redis_url)
    conn = await asyncpg.connect(_dsn(database_url))
    sandbox = None
    workers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERAPP_")}
        env.update(
            SUPERAPP_DATABASE_URL=database_url,
            SUPERAPP_REDIS_URL=redis_url,
            SUPERAPP_SANDBOX="false",
            SUPERAPP_SANDBOX_PORT=str(free_port()),
            SUPERAPP_FCM_SERVICE_ACCOUNT=str(tmp / "fcm-dev-service-account.json"),
        )
        try:
            ids = await _people(conn, n)
            bulk_s = await _bulk_insert(conn, ids)
            sandbox, sandbox_url = start_sandbox(env, tmp)
            workers = [_spawn(["worker"], env, tmp / f"worker{i}.log") for i in range(args.workers)]
            await asyncio.sleep(5)  # started and idle: the clock measures work, not start-up
            await db.init(database_url)
            started = datetime.now(UTC)
            await _write(ids, args.writers)
            written = datetime.now(UTC)
            last_sent = await _finished(conn, n, workers)
            inbox = await conn.fetchval("SELECT count(*) FROM notification")
            pushed = await conn.fetchval(
                "SELECT count(*) FROM notification_delivery WHERE channel = 'push' AND status = 'sent'"
            )
            others = await conn.fetchval(
                "SELECT count(*) FROM notification_delivery WHERE channel <> 'push'"
            )
            accepted = httpx.get(f"{sandbox_url}/push/outbox", timeout=30).json()["accepted"]
        finally:
            for process in [*workers, *([sandbox] if sandbox else [])]:
                process.terminate()
                process.wait(30)
            await conn.close()
            await db.close()
    seconds = (last_sent - started).total_seconds()
    rate, bare = n / seconds, n / bulk_s
    print(f"recipients: {n}  workers: {args.workers}  writers: {args.writers}")
    print(f"bare bulk insert (COPY): {bulk_s:.2f} s  {bare:,.0f} rows/s")
    print(
        f"fan-out: {seconds:.2f} s  {rate:,.0f} recipients/s  (writing {(written - started).total_seconds():.2f} s, "
        f"dispatch trailing {(last_sent - written).total_seconds():.2f} s)"
    )
    ratio = rate / bare
    writing_s = (written - started).total_seconds()
    print(
        f"writing alone (outbox, in transactions): {n / writing_s:,.0f} recipients/s, ratio {n / writing_s / bare:.3f}"
    )
    print(
        f"ratio to bulk insert: {ratio:.3f}  (target >= 0.3: {'met' if ratio >= 0.3 else 'MISSED'})"
    )
    print(
        f"inbox rows: {inbox}  push sent: {pushed}  FCM accepted: {accepted}  other channels: {others}"
    )
    ok = inbox == n and pushed == n and accepted == n and others == 0
    print("counts:", "exact" if ok else "WRONG")
    return 0 if ok else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=4)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
