"""Start the real service as a subprocess, the way the README does, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


CLI = [sys.executable, "-m", "app_api"]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any SUPERAPP_ setting, on an SQLite file in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERAPP_")}
    env["SUPERAPP_DATABASE_URL"] = f"sqlite://{tmp_path}/var/superapp.sqlite3"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveService:
    process: subprocess.Popen[str]
    api: str
    sandbox: str
    log_path: Path

    def stop(self, timeout: float = 15.0) -> int:
        """Ctrl-C, as a person would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def login(self, phone: str, portal: str = "resident", *, sandbox: str | None = None) -> str:
        """Sign in over HTTP with the code from the sandbox outbox; returns the access token."""
        return sign_in(self.api, sandbox or self.sandbox, phone, portal)["access_token"]


def sign_in(api: str, sandbox: str, phone: str, portal: str = "resident") -> dict[str, Any]:
    """Sign in over HTTP with the code from the sandbox outbox; returns the login answer."""
    httpx.post(f"{api}/api/v1/auth/otp", json={"phone": phone}).raise_for_status()
    outbox = httpx.get(f"{sandbox}/sms/outbox", params={"phone": phone}).json()
    code = outbox["messages"][-1]["params"]["code"]
    login = httpx.post(
        f"{api}/api/v1/auth/login", json={"phone": phone, "code": code, "portal": portal}
    )
    login.raise_for_status()
    return login.json()


def start_service(
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    timeout: float = 60.0,
    residents: int = 300,
) -> LiveService:
    """``superapp serve`` with the embedded defaults (unless ``extra_env`` says otherwise)."""
    api_port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERAPP_")}
    env.update(
        {
            "SUPERAPP_PORT": str(api_port),
            "SUPERAPP_SANDBOX_PORT": str(sandbox_port),
            "SUPERAPP_DATABASE_URL": f"sqlite://{workdir}/var/superapp.sqlite3",
        }
    )
    env.update(extra_env or {})
    bin_dir = Path(sys.executable).parent
    superapp = (
        [str(bin_dir / "superapp")]
        if (bin_dir / "superapp").exists()
        else [sys.executable, "-m", "app_api"]
    )
    for step in (
        ["migrate"],
        ["seed-demo", "--if-empty", "--residents", str(residents), "--enterprises", "20"],
    ):
        subprocess.run(
            superapp + step, cwd=workdir, env=env, check=True, capture_output=True, text=True
        )
    log_path = workdir / "serve.log"
    process = subprocess.Popen(
        [*superapp, "serve"],
        cwd=workdir,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = LiveService(
        process, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}", log_path
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited early:\n{service.log()}")
        try:
            if httpx.get(f"{service.api}/health/ready", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    service.stop()
    raise RuntimeError(f"serve did not become ready:\n{service.log()}")
