"""The log: personal numbers masked however they are written, and one access line per request."""

from __future__ import annotations

import json
import logging
import unicodedata

import pytest
import structlog

from app_api import logs
from tests.conftest import Env

PHONES = [
    "+86 138 0000 0001",
    "+8613800000001",
    "+86-138-0000-0001",
    "0086 13800000001",
    "138-0000-0001",
    "138 0000 0001",
    "1380 000 0001",
]
# Written in paths, with other separators, full-width or next to letters.
ODD_PHONES = [
    "138.0000.0001",
    "138_0000_0001",
    "/api/v1/nope/138/0000/0001",
    "(138)0000-0001",
    "138—0000—0001",
    "138\u200b00000001",
    "１３８００００００01",
    "x13800000001x",
    "13800000001abc",
]
ID_NUMBERS = [
    "321302 19850312 0137",
    "321302-19850312-0137",
    "3213 0219 8503 1201 37",
    "11010519491231002 X",
]
ODD_ID_NUMBERS = ["321302198503120137a", "321302.19850312.0137", "x321302198503120137"]


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def _log_one(capsys: pytest.CaptureFixture[str], **fields: str) -> dict:
    """Log one line with ``fields`` and return it as written."""
    logs.configure("INFO", json=True)
    structlog.get_logger("t").info("event", **fields)
    [line] = _lines(capsys)
    return line


@pytest.mark.parametrize("written", PHONES)
def test_phones_are_masked_however_they_are_written(
    capsys: pytest.CaptureFixture[str], written: str
) -> None:
    logs.configure("INFO", json=True)
    structlog.get_logger("t").info("call", note=f"called {written} today", raw=written)
    logging.getLogger("stdlib").warning("caller %s", written)
    err = capsys.readouterr().err
    first, second = (json.loads(line) for line in err.splitlines())
    assert first["note"] == "called 138****0001 today"
    assert first["raw"] == "138****0001"
    assert second["event"] == "caller 138****0001"
    assert "0000" not in err.replace("****", "")


@pytest.mark.parametrize("written", ID_NUMBERS)
def test_id_numbers_with_spaces_or_dashes_are_masked(
    capsys: pytest.CaptureFixture[str], written: str
) -> None:
    line = _log_one(capsys, note=f"id {written}.")
    digits = written.replace(" ", "").replace("-", "").upper()
    assert line["note"] == f"id {digits[0]}****************{digits[-1]}."
    assert digits[6:14] not in json.dumps(line)


@pytest.mark.parametrize("written", ODD_PHONES + ODD_ID_NUMBERS)
def test_numbers_in_paths_odd_groupings_or_next_to_letters_are_masked(
    capsys: pytest.CaptureFixture[str], written: str
) -> None:
    line = _log_one(capsys, path=f"/api/v1/x/{written}")
    shown = unicodedata.normalize("NFKC", line["path"])
    assert "****" in shown
    assert "0000" not in shown.replace("****", "") and "19850312" not in shown


def test_numbers_logged_as_integers_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    structlog.get_logger("t").info("call", phone=13800000001, id=321302198503120137, ms=12)
    [line] = _lines(capsys)
    assert line["phone"] == "138****0001"
    assert line["id"] == "3****************7"
    assert line["ms"] == 12


def test_ordinary_numbers_are_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    text = "took 1380 ms, 2026-11-01 12:00:00, amount 150000 fen, seq 13800000001234"
    structlog.get_logger("t").info("x", note=text)
    [line] = _lines(capsys)
    assert line["note"] == text


async def test_every_request_is_access_logged_once(
    capsys: pytest.CaptureFixture[str], env: Env
) -> None:
    capsys.readouterr()
    sent = [
        ("GET", "/api/v1/nowhere/13800000001", 404),
        ("DELETE", "/health/live", 405),
        ("GET", "/health/live", 200),
        ("GET", "/api/v1/me", 401),
        ("POST", "/api/v1/auth/otp", 413),
    ]
    for method, path, status in sent:
        content = b" " * (2 * 1024 * 1024) if status == 413 else None
        resp = await env.client.request(
            method, path, content=content, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == status, (path, resp.text)
    access = [line for line in _lines(capsys) if line.get("event") == "request"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("GET", "/api/v1/nowhere/138****0001", 404),
        ("DELETE", "/health/live", 405),
        ("GET", "/health/live", 200),
        ("GET", "/api/v1/me", 401),
        ("POST", "/api/v1/auth/otp", 413),
    ]
    assert all(a["level"] == "info" and a["ms"] >= 0 for a in access)


def test_tracebacks_from_stdlib_loggers_are_rendered_and_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # uvicorn, SAQ and Tortoise log through the standard library.
    logs.configure("INFO", json=True)
    try:
        raise ValueError("no account for +86 138 0000 0001 / 321302198503120137")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("failed")
    [line] = _lines(capsys)
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("no account for 138****0001 / 3****************7")
    assert "0000 0001" not in json.dumps(line) and "19850312" not in json.dumps(line)
