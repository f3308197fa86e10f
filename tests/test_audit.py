"""The audit log is append-only and hash-chained; tampering is detected and located."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from tortoise import connections

from app_api.audit.chain import AuditEntry, AuditEvent, AuditLog
from tests.conftest import ON_POSTGRES, Env


def sample_entry(i: int) -> AuditEntry:
    """The ``i``-th of a run of made-up audit entries."""
    return AuditEntry(
        actor_kind="resident",
        actor_id=f"actor-{i}",
        subject_id=f"subject-{i % 3}",
        action="profile.read",
        resource=f"resident:{i}",
        purpose="resident_service",
        ip="127.0.0.1",
    )


GUARDS = importlib.import_module("app_api.migrations.0002_audit_append_only")


@pytest.fixture
async def unguarded(env: Env) -> AsyncIterator[None]:
    """What an attacker with the database owner's hand would do first: drop the triggers.

    They are put back afterwards, since PostgreSQL keeps its schema between tests.
    """
    conn = connections.get("default")
    if ON_POSTGRES:
        await conn.execute_script("DROP TRIGGER audit_event_no_change ON audit_event")
    else:
        await conn.execute_script(
            "DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;"
        )
    yield
    if ON_POSTGRES:
        for sql in GUARDS.POSTGRES:
            await connections.get("default").execute_script(sql)


async def test_concurrent_appends_form_one_valid_chain(env: Env) -> None:
    log: AuditLog = env.app.state.services.audit
    seqs = await asyncio.gather(*(log.append(sample_entry(i)) for i in range(40)))
    assert sorted(seqs) == list(range(1, 41))
    report = await log.verify(batch=7)
    assert report.ok and report.checked == 40


async def test_database_refuses_updates_and_deletes(env: Env) -> None:
    log: AuditLog = env.app.state.services.audit
    await log.append(sample_entry(1))
    conn = connections.get("default")
    for sql in ("UPDATE audit_event SET purpose = 'x'", "DELETE FROM audit_event"):
        try:
            await conn.execute_script(sql)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{sql} was allowed")
    assert await AuditEvent.all().count() == 1


async def test_an_edited_row_is_found(env: Env, unguarded: None) -> None:
    log: AuditLog = env.app.state.services.audit
    for i in range(5):
        await log.append(sample_entry(i))
    await connections.get("default").execute_script(
        "UPDATE audit_event SET purpose = 'marketing' WHERE seq = 3"
    )
    report = await log.verify()
    assert not report.ok
    assert (report.bad_seq, report.problem, report.checked) == (3, "altered", 2)


async def test_a_deleted_row_is_found(env: Env, unguarded: None) -> None:
    log: AuditLog = env.app.state.services.audit
    for i in range(5):
        await log.append(sample_entry(i))
    await connections.get("default").execute_script("DELETE FROM audit_event WHERE seq = 2")
    report = await log.verify()
    assert (report.ok, report.bad_seq, report.problem) == (False, 2, "missing")


async def test_a_rewritten_chain_without_the_key_is_found(env: Env) -> None:
    log: AuditLog = env.app.state.services.audit
    await log.append(sample_entry(1))
    forger = AuditLog("someone-elses-key")
    await forger.append(sample_entry(2))
    report = await log.verify()
    assert (report.ok, report.bad_seq, report.problem) == (False, 2, "altered")


async def test_cli_audit_verify_exits_nonzero_on_tampering(env: Env, unguarded: None) -> None:
    log: AuditLog = env.app.state.services.audit
    for i in range(3):
        await log.append(sample_entry(i))
    cli_env = {
        **os.environ,
        "SUPERAPP_DATABASE_URL": env.settings.database_url,
        "SUPERAPP_AUDIT_KEY": env.settings.audit_key,
    }
    ok = subprocess.run(
        [sys.executable, "-m", "app_api", "audit", "verify"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert '"ok": true' in ok.stdout
    await connections.get("default").execute_script(
        "UPDATE audit_event SET actor_id = 'nobody' WHERE seq = 1"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "app_api", "audit", "verify"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert '"bad_seq": 1' in bad.stdout


async def test_login_and_profile_reads_are_audited(env: Env) -> None:
    tokens = await env.login("13400000001")
    await env.client.get("/api/v1/profile", headers=env.auth(tokens))
    actions = [e.action for e in await AuditEvent.all().order_by("seq")]
    assert actions == ["auth.login", "profile.read"]
    event = await AuditEvent.get(action="profile.read")
    assert event.purpose == "resident_service" and event.ip == "127.0.0.1"


async def test_two_writers_sharing_the_database_keep_one_chain(env: Env) -> None:
    """Two processes append to one chain: a writer whose idea of the head is out of date
    is refused by the database, reads the head again and links to it."""
    here: AuditLog = env.app.state.services.audit
    there = AuditLog(env.settings.audit_key)  # what another process holds
    assert await here.append(sample_entry(1)) == 1
    assert await there.append(sample_entry(2)) == 2
    assert await here.append_many([sample_entry(3), sample_entry(4)]) == [3, 4]  # its head was 1
    both = await asyncio.gather(
        *(log.append(sample_entry(i)) for i in range(5, 25) for log in (here, there))
    )
    assert sorted(both) == list(range(5, 45))
    report = await here.verify(batch=9)
    assert report.ok and report.checked == 44
