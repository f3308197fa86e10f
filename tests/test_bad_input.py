"""Malformed, oversized, mistyped or mislabelled input is a clear 4xx problem, never a 500.

Each case is sent to a real route, and each checks what a client and an operator would
notice: a problem+json answer with a stable code, nothing written, and no ERROR line (nor
a traceback) in the log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from app_api.audit.chain import AuditEvent
from app_api.identity.models import Delegation, Operator
from tests.conftest import Env

WORKER = "321302198503120137"  # 王建国: a housing fund and contributions
PHONE = "13800000001"
RELATIVE = "13500000002"
AUDITOR = "13900009998"
TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict]]:
    """The JSON log lines written so far."""

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    return read


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "content-language" in resp.headers
    body = resp.json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in resp.text
    return body


def assert_no_errors_logged(lines: list[dict]) -> None:
    # The capture works: every request leaves its access line.
    assert any(line.get("event") == "request" for line in lines)
    assert not [line for line in lines if line.get("level") in ("error", "critical")]
    assert not [line for line in lines if "exception" in line or "exc_info" in line]


async def _withdraw(
    env: Env,
    tokens: dict,
    content: bytes | AsyncIterator[bytes],
    content_type: str | None = "application/json",
) -> httpx.Response:
    """A housing fund withdrawal, a write that files with the province, with a raw body."""
    headers = env.auth(tokens, **{"Idempotency-Key": str(uuid.uuid4())})
    if content_type:
        headers["Content-Type"] = content_type
    return await env.client.post(
        "/api/v1/housing-fund/withdrawals", content=content, headers=headers
    )


@pytest.fixture
async def resident(env: Env) -> dict:
    return await env.verified(PHONE, WORKER)


def _filed(env: Env) -> int:
    return len(env.sandbox.upstream("housing_fund").withdrawals)


async def _writes(env: Env) -> tuple[int, int, int]:
    """What a request could have written: audit rows, delegations, provincial filings."""
    return await AuditEvent.all().count(), await Delegation.all().count(), _filed(env)


NOT_UTF8 = b'{"phone": "13800000001", "code": "\xff\xfe\xfd123"}'
DEEP = b'{"reason": "rent", "amount_fen": ' + b"[" * 5000 + b"]" * 5000 + b"}"
DEEP_UNKNOWN = b'{"phone": "13800000001", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


async def test_body_that_is_not_utf8_is_a_400(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict
) -> None:
    before = await _writes(env)
    login = await env.client.post(
        "/api/v1/auth/login", content=NOT_UTF8, headers={"Content-Type": "application/json"}
    )
    assert_problem(login, 400, "body_malformed")
    withdrawal = await _withdraw(env, resident, b'{"reason": "rent\xc3", "amount_fen": 1000}')
    assert_problem(withdrawal, 400, "body_malformed")
    not_json = await env.client.post(
        "/api/v1/auth/otp", content=b"{phone: 1", headers={"Content-Type": "application/json"}
    )
    assert_problem(not_json, 400, "body_malformed")
    assert await _writes(env) == before
    assert_no_errors_logged(log_lines())


async def test_deeply_nested_json_is_refused_without_a_traceback(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict
) -> None:
    before = await _writes(env)
    deep = await _withdraw(env, resident, DEEP)
    body = assert_problem(deep, 422, "validation_failed")
    assert body["errors"] == [{"field": "amount_fen", "reason": "invalid", "source": "body"}]
    unknown = await env.client.post(
        "/api/v1/auth/otp", content=DEEP_UNKNOWN, headers={"Content-Type": "application/json"}
    )
    assert_problem(unknown, 422, "validation_failed")
    top = await env.client.post(
        "/api/v1/auth/login",
        content=b"[" * 3000 + b"]" * 3000,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(top, 422, "validation_failed")
    assert await _writes(env) == before
    assert_no_errors_logged(log_lines())


async def test_bodies_over_one_megabyte_are_413(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict
) -> None:
    before = await _writes(env)
    padding = b'{"phone": "13800000001", "pad": "' + b"x" * TEN_MB + b'"}'
    announced = await env.client.post(
        "/api/v1/auth/otp", content=padding, headers={"Content-Type": "application/json"}
    )
    assert_problem(announced, 413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit holds on the bytes actually received.
        for _ in range(20):
            yield b" " * 65536

    streamed = await _withdraw(env, resident, chunks())
    assert_problem(streamed, 413, "body_too_large")
    # Just under the limit is still read (and judged on its content).
    near = b'{"reason": "rent", "amount_fen": 1000}' + b" " * (1024 * 1024 - 100)
    ok_size = await _withdraw(env, resident, near)
    assert ok_size.status_code == 201, ok_size.text
    writes = await _writes(env)
    assert writes[2] == before[2] + 1  # only the last one was filed
    assert_no_errors_logged(log_lines())


async def test_strings_are_not_coerced_to_numbers_in_bodies(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict
) -> None:
    await env.login(RELATIVE)
    before = await _writes(env)
    grant = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": RELATIVE, "scopes": ["view_profile"], "days": "5"},
        headers=env.auth(resident),
    )
    body = assert_problem(grant, 422, "validation_failed")
    assert body["errors"] == [{"field": "days", "reason": "invalid", "source": "body"}]
    withdrawal = await _withdraw(env, resident, b'{"reason": "rent", "amount_fen": "150000"}')
    body = assert_problem(withdrawal, 422, "validation_failed")
    assert body["errors"] == [{"field": "amount_fen", "reason": "invalid", "source": "body"}]
    as_float = await _withdraw(env, resident, b'{"reason": "rent", "amount_fen": 1500.0}')
    assert_problem(as_float, 422, "validation_failed")
    assert await _writes(env) == before
    # The same requests with proper numbers pass.
    ok = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": RELATIVE, "scopes": ["view_profile"], "days": 5},
        headers=env.auth(resident),
    )
    assert ok.status_code == 201, ok.text
    assert_no_errors_logged(log_lines())


@pytest.mark.parametrize("value", ["1e3", "5.0", "0x10", "1_0", "٣"])
async def test_query_numbers_must_be_plain_integers(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict, value: str
) -> None:
    for path in ("/api/v1/social-security/contributions", "/api/v1/housing-fund/transactions"):
        resp = await env.client.get(path, params={"page": value}, headers=env.auth(resident))
        body = assert_problem(resp, 422, "validation_failed")
        assert body["errors"] == [{"field": "page", "reason": "invalid", "source": "query"}]
    fine = await env.client.get(
        "/api/v1/housing-fund/transactions", params={"page": "2"}, headers=env.auth(resident)
    )
    assert fine.status_code == 200, fine.text
    assert_no_errors_logged(log_lines())


async def test_audit_paging_parameters_are_not_coerced(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict
) -> None:
    await Operator.create(phone=AUDITOR, name="审计员", roles=["auditor"])
    tokens = await env.login(AUDITOR, portal="operator")
    await env.enrol_totp(tokens)
    before = await AuditEvent.all().count()
    for path, who, name in (
        ("/api/v1/audit/events", tokens, "page"),
        ("/api/v1/audit/events", tokens, "page_size"),
        ("/api/v1/me/access-log", resident, "after"),
        ("/api/v1/me/access-log", resident, "limit"),
    ):
        resp = await env.client.get(path, params={name: "1e1"}, headers=env.auth(who))
        body = assert_problem(resp, 422, "validation_failed")
        assert body["errors"] == [{"field": name, "reason": "invalid", "source": "query"}]
    assert await AuditEvent.all().count() == before  # the refused reads were not recorded
    assert_no_errors_logged(log_lines())


@pytest.mark.parametrize(
    "query", [{"from": "0000-01"}, {"to": "0000-12"}, {"from": "0000-01", "to": "0000-02"}]
)
async def test_year_zero_months_are_a_422(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict, query: dict[str, str]
) -> None:
    resp = await env.client.get(
        "/api/v1/social-security/contributions", params=query, headers=env.auth(resident)
    )
    assert_problem(resp, 422, "month_range_invalid")
    assert_no_errors_logged(log_lines())


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_json_routes_refuse_other_content_types(
    log_lines: Callable[[], list[dict]], env: Env, resident: dict, content_type: str | None
) -> None:
    before = await _writes(env)
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"reason": "rent", "amount_fen": 1000}'
    withdrawal = await _withdraw(env, resident, body, content_type)
    assert_problem(withdrawal, 415, "unsupported_media_type")
    otp = await env.client.post(
        "/api/v1/auth/otp", content=b'{"phone": "13800000001"}', headers=headers
    )
    assert_problem(otp, 415, "unsupported_media_type")
    assert await _writes(env) == before
    assert_no_errors_logged(log_lines())


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/problem+json"],
)
async def test_json_content_types_are_accepted(env: Env, content_type: str) -> None:
    resp = await env.client.post(
        "/api/v1/auth/otp",
        content=b'{"phone": "13800000001"}',
        headers={"Content-Type": content_type},
    )
    assert resp.status_code == 202, resp.text


async def test_unknown_routes_answer_in_the_readers_language(env: Env) -> None:
    missing = await env.client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
    assert_problem(missing, 404, "not_found")
    assert missing.headers["content-language"] == "en"
    assert missing.json()["title"] == "Not found"
