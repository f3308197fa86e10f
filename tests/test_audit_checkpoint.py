"""The audit chain's head is anchored: deleting the newest rows no longer passes verification."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from app_api.audit.chain import AuditEntry, AuditEvent, AuditLog
from app_api.audit.checkpoint import Anchor, AuditCheckpoint
from app_api.jobs import verify_audit_chain
from tests.conftest import ON_POSTGRES, Env
from tests.test_audit import sample_entry

EVENT_GUARDS = importlib.import_module("app_api.migrations.0002_audit_append_only")
CHECKPOINT_GUARDS = importlib.import_module("app_api.migrations.0004_audit_checkpoint")


@pytest.fixture
async def unguarded(env: Env) -> AsyncIterator[None]:
    """An attacker with the database owner's hand drops the append-only triggers of both
    tables. They are put back afterwards, since PostgreSQL keeps its schema between tests."""
    conn = connections.get("default")
    if ON_POSTGRES:
        await conn.execute_script(
            "DROP TRIGGER audit_event_no_change ON audit_event;"
            "DROP TRIGGER audit_checkpoint_no_change ON audit_checkpoint;"
        )
    else:
        await conn.execute_script(
            "DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;"
            "DROP TRIGGER audit_checkpoint_no_update; DROP TRIGGER audit_checkpoint_no_delete;"
        )
    yield
    if ON_POSTGRES:
        for sql in [*EVENT_GUARDS.POSTGRES, *CHECKPOINT_GUARDS.POSTGRES]:
            await connections.get("default").execute_script(sql)


async def _fill(env: Env, rows: int) -> AuditLog:
    log: AuditLog = env.app.state.services.audit
    for i in range(rows):
        await log.append(sample_entry(i))
    return log


async def _delete_after(seq: int) -> None:
    await connections.get("default").execute_script(f"DELETE FROM audit_event WHERE seq > {seq}")


def _cli_verify(env: Env, *args: str) -> tuple[int, dict[str, Any], str]:
    run = subprocess.run(
        [sys.executable, "-m", "app_api", "audit", "verify", *args],
        env={
            **os.environ,
            "SUPERAPP_DATABASE_URL": env.settings.database_url,
            "SUPERAPP_AUDIT_KEY": env.settings.audit_key,
        },
        capture_output=True,
        text=True,
    )
    return run.returncode, json.loads(run.stdout or "{}"), run.stderr


async def _mac(seq: int) -> str:
    return (await AuditEvent.get(seq=seq)).mac


async def test_verify_prints_and_records_a_signed_checkpoint(env: Env) -> None:
    await _fill(env, 3)
    code, report, stderr = _cli_verify(env)
    assert code == 0, stderr
    assert report["ok"] is True and report["checkpoint"] == f"3:{await _mac(3)}"
    assert report["checkpoint"] in stderr  # said again for the operator to copy
    stored = await AuditCheckpoint.all()
    assert [(c.seq, c.head_mac, c.source) for c in stored] == [(3, await _mac(3), "verify")]


async def test_deleting_the_newest_rows_fails_verify(env: Env, unguarded: None) -> None:
    await _fill(env, 5)
    assert _cli_verify(env)[0] == 0
    await _delete_after(3)
    code, report, _ = _cli_verify(env)
    assert code == 1
    assert (report["ok"], report["problem"], report["bad_seq"]) == (False, "truncated", 4)
    assert report["checkpoint"] is None  # a broken chain is never anchored


async def test_deleting_all_but_the_first_row_fails_the_nightly_check(
    env: Env, unguarded: None
) -> None:
    log = await _fill(env, 5)
    ctx = {"services": env.app.state.services}
    assert (await verify_audit_chain(ctx))["ok"] is True
    await _delete_after(1)
    assert await verify_audit_chain(ctx) == {"ok": False, "checked": 1, "bad_seq": 2}
    report = await log.verify()
    assert (report.problem, report.bad_seq) == ("truncated", 2)


async def test_new_rows_after_a_cut_disagree_with_the_checkpoint(env: Env, unguarded: None) -> None:
    log = await _fill(env, 5)
    assert (await log.verify_and_checkpoint("verify")).checkpoint == Anchor(5, await _mac(5))
    await _delete_after(3)
    # The service goes on appending: rows 4 and 5 exist again, but they are other rows.
    assert await log.append_many([sample_entry(7), sample_entry(8)]) == [4, 5]
    report = await log.verify()
    assert (report.ok, report.problem, report.bad_seq) == (False, "checkpoint_mismatch", 5)


async def test_a_checkpoint_with_a_wrong_signature_fails_verify(env: Env) -> None:
    log = await _fill(env, 3)
    assert (await log.verify_and_checkpoint("nightly")).ok
    # Whoever writes to the database but lacks the key can only sign with another one.
    forger = AuditLog("someone-elses-key")
    await forger.checkpoints.record(Anchor(1, await _mac(1)), "verify")
    report = await log.verify()
    assert (report.ok, report.problem, report.bad_seq) == (False, "checkpoint_forged", 1)


async def test_a_checkpoint_kept_elsewhere_catches_an_emptied_checkpoint_table(
    env: Env, unguarded: None
) -> None:
    await _fill(env, 5)
    code, report, _ = _cli_verify(env)
    kept = report["checkpoint"]
    assert code == 0 and kept == f"5:{await _mac(5)}"
    await _delete_after(2)
    await connections.get("default").execute_script("DELETE FROM audit_checkpoint")
    assert _cli_verify(env)[0] == 0  # the database alone can no longer tell
    code, report, _ = _cli_verify(env, "--checkpoint", kept)
    assert (code, report["problem"], report["bad_seq"]) == (1, "truncated", 3)
    code, report, _ = _cli_verify(env, "--checkpoint", f"2:{'0' * 64}")
    assert (code, report["problem"], report["bad_seq"]) == (1, "checkpoint_mismatch", 2)
    code, _, stderr = _cli_verify(env, "--checkpoint", "5-abc")
    assert code == 2 and "SEQ:HASH" in stderr


async def test_the_checkpoint_table_is_append_only(env: Env) -> None:
    log = await _fill(env, 1)
    await log.verify_and_checkpoint("verify")
    conn = connections.get("default")
    for sql in ("UPDATE audit_checkpoint SET seq = 9", "DELETE FROM audit_checkpoint"):
        with pytest.raises(Exception, match="append-only"):
            await conn.execute_script(sql)
    assert await AuditCheckpoint.all().count() == 1


async def test_a_head_lost_by_the_database_is_not_skipped_over(env: Env, unguarded: None) -> None:
    """A database crash may lose a read's last entries; the process still remembers them as
    the head. The next entry must link to what the table holds, not leave a gap."""
    log = await _fill(env, 5)
    await _delete_after(3)
    assert await log.append(sample_entry(9)) == 4
    report = await log.verify()
    assert report.ok and report.checked == 4


async def test_concurrent_callers_share_statements_and_keep_their_entries_together(
    env: Env,
) -> None:
    log = await _fill(env, 0)
    calls = [[sample_entry(i * 10 + j) for j in range(i % 4 + 1)] for i in range(32)]
    seqs = await asyncio.gather(
        *(log.append_many(entries, durable=i % 2 == 0) for i, entries in enumerate(calls))
    )
    for entries, got in zip(calls, seqs, strict=True):
        assert got == list(range(got[0], got[0] + len(entries)))
        rows = await AuditEvent.filter(seq__in=got).order_by("seq")
        assert [r.actor_id for r in rows] == [e.actor_id for e in entries]
    report = await log.verify()
    assert report.ok and report.checked == sum(map(len, calls))


async def test_one_refused_entry_does_not_fail_the_others_in_its_statement(env: Env) -> None:
    log = await _fill(env, 1)
    broken = AuditEntry(None, "x", "y", "z", "w")  # type: ignore[arg-type]  # NOT NULL
    results = await asyncio.gather(
        log.append(sample_entry(2)),
        log.append(broken),
        log.append(sample_entry(3)),
        return_exceptions=True,
    )
    assert results[0] == 2 and results[2] == 3
    assert isinstance(results[1], IntegrityError)
    assert (await log.verify()).ok


async def test_two_processes_appending_without_pause_both_get_through(env: Env) -> None:
    """Two processes' worth of callers append back to back to one chain. A process that
    finds the chain moved waits its turn instead of losing the race again and again."""
    here: AuditLog = env.app.state.services.audit
    there = AuditLog(env.settings.audit_key)  # what another process holds

    async def caller(log: AuditLog, n: int) -> list[int]:
        return [await log.append(sample_entry(n * 100 + i), durable=i % 2 == 0) for i in range(10)]

    seqs = await asyncio.gather(*(caller(log, n) for n in range(16) for log in (here, there)))
    assert sorted(s for run in seqs for s in run) == list(range(1, 321))
    report = await here.verify()
    assert report.ok and report.checked == 320
