"""Audit appends per second: one client alone, then many at once, in one or more processes.

Each client appends what one request would (``--entries`` rows in one call), again and
again, for ``--seconds``; the figures are appends (calls) per second over all processes and
the p50 of one call. Both durability modes of the chain are measured on the same database:

- ``write``: committed like a write's entries, durably (``synchronous_commit`` on);
- ``read``: a read's entries, committed on PostgreSQL without waiting for the WAL flush
  (on SQLite, WAL with ``synchronous=NORMAL``, the two are the same).

With ``--processes 2`` the clients are split over two processes appending to one chain, as
two server processes would. At the end the chain is verified, so that a fast but broken
chain cannot pass (exit 1).

    .venv/bin/python -m bench.audit_appends [--clients 32] [--seconds 5] [--entries 1]
    SUPERAPP_DATABASE_URL=postgres://… .venv/bin/python -m bench.audit_appends --processes 2

On PostgreSQL the audit tables of that database are emptied first (TRUNCATE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tortoise import connections

from app_api import db
from app_api.audit.chain import AuditEntry, AuditLog

KEY = "bench-audit-key"
ENTRY = AuditEntry(
    actor_kind="resident",
    actor_id="00000000-0000-0000-0000-000000000001",
    subject_id="00000000-0000-0000-0000-000000000001",
    action="provincial.social_security.read",
    resource="/gateway/v1/social-security/summary",
    purpose="home_card",
    ip="127.0.0.1",
)
MODES = {"write": True, "read": False}  # mode -> durable


async def _client(
    log: AuditLog, batch: list[AuditEntry], durable: bool, stop_at: float
) -> list[float]:
    samples = []
    while time.time() < stop_at:
        started = time.perf_counter()
        await log.append_many(batch, durable=durable)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _share(
    url: str, mode: str, clients: int, entries: int, start_at: float, seconds: float
) -> list[float]:
    """This process's clients, started together with the other processes' at ``start_at``."""
    await db.init(url)
    try:
        log = AuditLog(KEY)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        runs = await asyncio.gather(
            *(
                _client(log, [ENTRY] * entries, MODES[mode], start_at + seconds)
                for _ in range(clients)
            )
        )
        return [sample for run in runs for sample in run]
    finally:
        await db.close()


def _round(url: str, mode: str, clients: int, args: argparse.Namespace) -> str:
    processes = min(args.processes, clients)
    start_at = time.time() + 2.0  # time for the other processes to start
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.audit_appends",
                "--child",
                mode,
                "--clients",
                str(n),
                "--entries",
                str(args.entries),
                "--seconds",
                str(args.seconds),
                "--start-at",
                str(start_at),
            ],
            env={**os.environ, "SUPERAPP_DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for n in shares[1:]
    ]
    samples = asyncio.run(_share(url, mode, shares[0], args.entries, start_at, args.seconds))
    for child in children:
        out, _ = child.communicate()
        samples += json.loads(out.decode().strip().splitlines()[-1])
    return (
        f"{clients:>3} clients in {processes} process(es): {len(samples) / args.seconds:7.0f} "
        f"appends/s, p50 {statistics.median(samples):6.2f} ms"
    )


async def _prepare(url: str) -> str:
    await db.init(url)
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        await conn.execute_script("TRUNCATE audit_event, audit_checkpoint")
    await db.close()
    return dialect


async def _verify(url: str) -> bool:
    await db.init(url)
    try:
        report = await AuditLog(KEY).verify()
    finally:
        await db.close()
    print(f"  chain: ok={report.ok}, {report.checked} rows, problem={report.problem}")
    return report.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--entries", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("SUPERAPP_DATABASE_URL", "")
    if args.child:
        samples = asyncio.run(
            _share(url, args.child, args.clients, args.entries, args.start_at, args.seconds)
        )
        print(json.dumps(samples))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not url.startswith(("postgres", "asyncpg", "psql")):
            url = f"sqlite://{tmp}/bench.sqlite3"
        asyncio.run(db.migrate(url))
        dialect = asyncio.run(_prepare(url))
        print(f"{dialect}, {args.entries} entr(y/ies) per append, {args.seconds} s per figure")
        for mode in MODES:
            for clients in sorted({1, args.clients}):
                print(f"  {mode:>5} {_round(url, mode, clients, args)}", flush=True)
        if not asyncio.run(_verify(url)):
            sys.exit(1)


if __name__ == "__main__":
    main()
