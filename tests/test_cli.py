"""The superapp command as an operator of the service uses it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from saq.queue.redis import RedisQueue

from app_api import kv
from app_api.jobs import QUEUE_NAME
from tests.conftest import REAL_REDIS
from tests.live import CLI, cli_env, start_service


def test_operator_create_then_sign_in_through_the_operator_portal(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    try:
        env = cli_env(tmp_path)
        made = subprocess.run(
            [*CLI, "operator", "create", "--phone", "13911112222", "--name", "钱核", "--role", "reviewer"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert '"roles": ["reviewer"]' in made.stdout
        token = service.login("13911112222", portal="operator")
        me = httpx.get(
            f"{service.api}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert me["kind"] == "operator" and me["roles"] == ["reviewer"]
    finally:
        service.stop()
    # Apart from the two lines naming the addresses, the log is JSON from its first line
    # (uvicorn's start-up lines included), and the operator's phone is masked in it.
    lines = [line for line in service.log().splitlines() if " on http://" not in line]
    assert lines and all(json.loads(line)["event"] for line in lines)
    assert "13911112222" not in service.log()


@pytest.mark.parametrize(
    "args",
    [
        ["operator", "create", "--phone", "13911112222", "--name", "x", "--role", "emperor"],
        ["operator", "create", "--phone", "12345", "--name", "x", "--role", "auditor"],
        ["operator", "create", "--phone", "13911112222", "--name", "x"],
    ],
)
def test_operator_create_refuses_bad_input(tmp_path: Path, args: list[str]) -> None:
    run = subprocess.run(
        [*CLI, *args], cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "superapp:" in run.stderr


def test_a_separate_worker_refuses_the_in_process_redis(tmp_path: Path) -> None:
    run = subprocess.run(
        [*CLI, "worker"], cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "SUPERAPP_REDIS_URL" in run.stderr


@pytest.mark.skipif(not REAL_REDIS, reason="a separate worker process needs a real Redis to share")
def test_separate_worker_starts_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SUPERAPP_REDIS_URL=REAL_REDIS)
    subprocess.run([*CLI, "migrate"], cwd=tmp_path, env=env, check=True, capture_output=True)
    log = tmp_path / "worker.log"  # a file, not a pipe nobody reads that could fill up
    with log.open("w") as stderr:
        worker = subprocess.Popen([*CLI, "worker"], cwd=tmp_path, env=env, stderr=stderr)
    try:
        # Started means working: a job put on the shared queue comes back done by it.
        result = asyncio.run(_run_job_on_shared_queue(REAL_REDIS, "verify_audit_chain"))
        assert isinstance(result, dict) and result["ok"] is True, log.read_text()
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


async def _run_job_on_shared_queue(redis_url: str, function: str) -> object:
    """Enqueue ``function`` as the API would and wait until a worker has finished it."""
    queue = RedisQueue(kv.connect(redis_url, decode=False), name=QUEUE_NAME)
    await queue.connect()
    try:
        # The wait is a guard against a worker that never comes, not a measurement.
        return await queue.apply(function, timeout=60)
    finally:
        await queue.disconnect()


def test_seed_demo_if_empty_loads_once(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    subprocess.run([*CLI, "migrate"], cwd=tmp_path, env=env, check=True, capture_output=True)
    seed = [*CLI, "seed-demo", "--if-empty", "--residents", "50", "--enterprises", "3"]
    first = subprocess.run(seed, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert '"residents": 50' in first.stdout
    second = subprocess.run(seed, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "already loaded" in second.stderr


def test_sandbox_faults_can_be_set_from_the_environment(tmp_path: Path) -> None:
    faults = '{"housing_fund": {"kind": "error"}}'
    service = start_service(tmp_path, {"SUPERAPP_SANDBOX_FAULTS": faults})
    try:
        token = service.login("13800000001")
        home = httpx.get(
            f"{service.api}/api/v1/home", headers={"Authorization": f"Bearer {token}"}
        ).json()
        statuses = {card["id"]: card["status"] for card in home["cards"]}
        assert (statuses["social_security"], statuses["housing_fund"]) == ("ok", "unavailable")
    finally:
        service.stop()


def test_bad_sandbox_faults_are_named(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SUPERAPP_SANDBOX_FAULTS='{"sms": {"kind": "earthquake"}}')
    run = subprocess.run(
        [*CLI, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "SUPERAPP_SANDBOX_FAULTS" in run.stderr


def test_a_test_message_reaches_the_residents_inbox_and_phone(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    phone_token = "fcm-cli-test-" + "c" * 40
    try:
        auth = {"Authorization": f"Bearer {service.login('13800000005')}"}
        device = {"token": phone_token, "platform": "android"}
        httpx.post(f"{service.api}/api/v1/devices", json=device, headers=auth).raise_for_status()
        env = cli_env(tmp_path)
        sent = subprocess.run(
            [*CLI, "notify", "test", "--phone", "13800000005", "--urgent"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert set(json.loads(sent.stdout)["channels"]) == {"push", "sms"}  # urgent: both
        for _ in range(150):  # the service's own dispatcher sends it
            pushed = httpx.get(
                f"{service.sandbox}/push/outbox", params={"token": phone_token}
            ).json()["messages"]
            if pushed:
                break
            time.sleep(0.1)
        assert pushed[0]["message"]["notification"]["title"] == "测试消息"
        inbox = httpx.get(f"{service.api}/api/v1/notifications", headers=auth).json()
        assert inbox["items"][0]["title"] == "测试消息"
        nobody = subprocess.run(
            [*CLI, "notify", "test", "--phone", "13999999999"],
            cwd=tmp_path, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert nobody.returncode == 1 and "nobody has signed in" in nobody.stderr
    finally:
        service.stop()
