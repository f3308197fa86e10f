"""A client that hangs up mid-body is logged as such, not as a server error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Env


async def test_a_body_cut_off_by_the_client_is_logged_as_499_without_an_error(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"phone": "138', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/otp",
        "raw_path": b"/api/v1/auth/otp",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 50001),
        "server": ("testserver", 80),
        "state": {},
    }
    capsys.readouterr()
    await env.app(scope, receive, send)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    access = [line for line in lines if line.get("event") == "request"]
    assert [line["status"] for line in access] == [499]
    assert not [line for line in lines if line.get("level") in ("error", "critical")]
    assert env.sandbox.sms_codes("13800000001") == []
