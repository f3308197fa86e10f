"""A real ``superapp worker`` process SIGKILLed in the middle of a batch, and another started:
no message lost, none twice.

The worker is the service's own process (``python -m app_api worker``) against the test's
database (a migrated SQLite file, or the run's PostgreSQL) and the sandbox served in this test's
event loop (its fake FCM and SMS gateway). A separate worker shares its job queue through Redis,
so it needs a real Redis server: without ``SUPERAPP_REDIS_URL`` the test is skipped, as in
tests/test_cli.py.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app_api.identity.models import Resident
from integrations.sandbox import FCM, SMS
from notifications.models import Delivery, Device
from tests.conftest import APP_ID, APP_SECRET, FCM_KEY, REAL_REDIS, TODAY, Env
from tests.live import CLI, cli_env

pytestmark = pytest.mark.skipif(
    not REAL_REDIS, reason="a separate worker process needs a real Redis to share"
)

RESIDENTS = 300
GUARD_S = 120.0  # a guard against a worker that never gets there, not a measurement


def _worker(env: Env, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """``superapp worker`` as an operator starts it, pointed at this test's database and sandbox."""
    settings = cli_env(
        tmp_path,
        SUPERAPP_DATABASE_URL=env.settings.database_url,
        SUPERAPP_REDIS_URL=REAL_REDIS,
        SUPERAPP_SANDBOX="false",
        SUPERAPP_TODAY=TODAY.isoformat(),
        SUPERAPP_SMS_GATEWAY_URL=env.sandbox.url,
        SUPERAPP_SMS_APP_ID=APP_ID,
        SUPERAPP_SMS_APP_SECRET=APP_SECRET,
        SUPERAPP_PROVINCIAL_BASE_URL=env.sandbox.url,
        SUPERAPP_PROVINCIAL_APP_ID=APP_ID,
        SUPERAPP_PROVINCIAL_APP_SECRET=APP_SECRET,
        SUPERAPP_FCM_SERVICE_ACCOUNT=str(FCM_KEY),
        SUPERAPP_FCM_BASE_URL=env.sandbox.url,
    )
    log = (tmp_path / f"{name}.log").open("w")  # a file, not a pipe nobody reads
    return subprocess.Popen([*CLI, "worker"], cwd=tmp_path, env=settings, stderr=log, stdout=log)


async def _until(condition, what: str, worker: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (yielding to the sandbox served by this loop) until ``condition()`` holds."""
    deadline = asyncio.get_running_loop().time() + GUARD_S
    while not await condition():
        assert worker.poll() is None, (
            f"the worker exited while waiting for {what}:\n{log.read_text()}"
        )
        assert asyncio.get_running_loop().time() < deadline, f"no {what}:\n{log.read_text()}"
        await asyncio.sleep(0.02)


async def _residents_with_devices() -> dict[str, list[Device]]:
    """Residents with a phone, each with a device, every third with two."""
    people = [Resident(id=uuid.uuid4(), phone=f"1390{i:07d}") for i in range(RESIDENTS)]
    await Resident.bulk_create(people)
    devices = [
        Device(id=uuid.uuid4(), account_id=p.id, token=f"fcm-crash-{i:04d}-{n}-{'x' * 32}", platform="android")
        for i, p in enumerate(people)
        for n in range(2 if i % 3 == 0 else 1)
    ]  # fmt: skip
    await Device.bulk_create(devices)
    by_account: dict[str, list[Device]] = defaultdict(list)
    for device in devices:
        by_account[str(device.account_id)].append(device)
    return by_account


async def test_a_worker_killed_mid_batch_and_restarted_loses_nothing_and_repeats_nothing(
    env: Env, tmp_path: Path
) -> None:
    """What "nothing twice" means, per channel:

    - SMS: every SMS delivery reaches the gateway's outbox exactly once. A batch sent again after
      the kill carries the same ``request_id`` (our delivery id), which the gateway deduplicates
      on, so a resident gets one text.
    - Push: FCM does not deduplicate (neither does the fake), so a push the killed worker had
      handed to FCM before it could record it is handed over again by its successor. The phone
      shows it once: both copies carry the same delivery id as the Android notification tag
      (and APNs collapse id), so the second replaces the first. The test therefore asserts that
      every (delivery, device) id reached FCM, that every copy of one id is the same message to
      the same device with that tag, and that only deliveries the killed worker had claimed
      appear twice: the worker that finished never sends one of its own twice.
    """
    accounts = await _residents_with_devices()
    outbox = env.app.state.services.outbox
    for account in accounts:  # security: push to each device and an SMS, at any hour
        await outbox.notify(
            account, "security", "notifications.digest", {"day": "28日"}, f"c:{account}"
        )
    expected_pushes = {
        f"{d.id}:{device.id}"
        for d in await Delivery.filter(channel="push").prefetch_related("notification")
        for device in accounts[str(d.notification.recipient_id)]
    }  # fmt: skip
    sms_ids = {str(i) for i in await Delivery.filter(channel="sms").values_list("id", flat=True)}
    assert len(sms_ids) == RESIDENTS and len(expected_pushes) == RESIDENTS + RESIDENTS // 3

    fcm, gateway = env.sandbox.app[FCM], env.sandbox.app[SMS]
    async with httpx.AsyncClient(base_url=env.sandbox.url) as sandbox:
        # FCM answers slowly, so the worker is inside its first batch when it is killed.
        await sandbox.put("/admin/faults/fcm", json={"kind": "latency", "latency_ms": 1500})
        first = _worker(env, tmp_path, "first")
        try:

            async def some_pushed() -> bool:
                return fcm.accepted > 0

            await _until(some_pushed, "push reaching FCM", first, tmp_path / "first.log")
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert 0 < fcm.accepted < len(expected_pushes)  # killed mid-way
        assert await Delivery.filter(status="pending").count() > 0
        await sandbox.delete("/admin/faults")

    # What the dead worker had claimed: only these may reach a provider twice (pushes it had
    # sent, or that were still on their way to FCM when it died, are sent again).
    claimed = {str(d.id) for d in await Delivery.filter(lease_until__isnull=False)}
    # The dead worker's leases run out, as time would make them (the lease is two minutes).
    past = datetime.now(UTC) - timedelta(seconds=1)
    await Delivery.filter(lease_until__isnull=False).update(lease_until=past)
    second = _worker(env, tmp_path, "second")
    try:

        async def nothing_pending() -> bool:
            return not await Delivery.filter(status="pending").exists()

        await _until(
            nothing_pending, "end of the pending deliveries", second, tmp_path / "second.log"
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "second.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()

    rows = await Delivery.all()
    assert {r.status for r in rows} == {"sent"} and len(rows) == 2 * RESIDENTS
    # Push: every (delivery, device) reached FCM; copies of one id are one message.
    copies: dict[str, list[dict]] = defaultdict(list)
    for sent in fcm.outbox:
        copies[sent["message"]["data"]["superapp_delivery"]].append(sent["message"])
    assert fcm.accepted == len(fcm.outbox)  # the outbox kept every message
    assert set(copies) == expected_pushes
    for delivery_id, messages in copies.items():
        assert all(m == messages[0] for m in messages)
        assert messages[0]["android"]["notification"]["tag"] == delivery_id
    twice = {i for i, messages in copies.items() if len(messages) > 1}
    assert {i.partition(":")[0] for i in twice} <= claimed
    # SMS: one text per delivery, however often the gateway was asked.
    texts = [m for m in gateway.outbox if m["template"] == "NOTICE"]
    assert sorted(m["request_id"] for m in texts) == sorted(sms_ids)
