"""``superapp serve --workers N``: several API processes behind one address, stopped as one."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from app_api import cli
from tests.conftest import REAL_REDIS
from tests.live import CLI, cli_env, start_service


@pytest.mark.parametrize(
    ("args", "extra"),
    [(["--workers", "2"], {}), ([], {"SUPERAPP_WORKERS": "2"})],
    ids=["flag", "environment"],
)
def test_several_processes_refuse_the_in_process_redis(
    tmp_path: Path, args: list[str], extra: dict[str, str]
) -> None:
    # Each process would have its own fakeredis: a session made by one unknown to the other.
    run = subprocess.run(
        [*CLI, "serve", *args],
        cwd=tmp_path,
        env=cli_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "SUPERAPP_REDIS_URL" in run.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _api_processes(parent: int) -> list[int]:
    """The processes ``parent`` spawned to serve (uvicorn's workers; not its resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in cmdline and _alive(int(stat.parent.name)):
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not REAL_REDIS, reason="the processes share sessions through a real Redis")
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_two_processes_serve_one_api_and_stop_together(tmp_path: Path) -> None:
    service = start_service(
        tmp_path, {"SUPERAPP_REDIS_URL": REAL_REDIS, "SUPERAPP_WORKERS": "2"}, residents=20
    )
    try:
        workers = _api_processes(service.process.pid)
        assert len(workers) == 2
        token = service.login("13800000001")  # the sandbox answers from a process of its own
        with httpx.Client(base_url=service.api) as client:
            # A new connection each time: whichever process accepts it knows the session.
            statuses = {
                client.get(
                    "/api/v1/me",
                    headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                ).status_code
                for _ in range(20)
            }
        assert statuses == {200}
    finally:
        code = service.stop()
    assert code == 0
    assert not [pid for pid in workers if _alive(pid)]
    for address in (service.api, service.sandbox):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{address}/health/live", timeout=2)


async def _nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Report, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        nodelay = await asyncio.wait_for(accepted, 5)
        writer.close()
        return nodelay
    finally:
        server.close()


async def test_several_processes_answer_without_waiting_for_delayed_acks() -> None:
    # Nagle's algorithm left on holds each answer's body until the client's delayed ACK:
    # about 40 ms per keep-alive request (uvicorn binds the shared socket without naming TCP).
    import uvicorn

    config = uvicorn.Config(
        "app_api.cli:process_app", factory=True, workers=2, host="127.0.0.1", port=0
    )
    assert await _nodelay_of_an_accepted_connection(cli.listening_socket(config)) == 1
