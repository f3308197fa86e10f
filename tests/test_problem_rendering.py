"""What a resident reads when code raises a problem without the values its text needs, and
what the log says when a route raises a problem its OpenAPI operation does not list."""

from __future__ import annotations

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

import locales
from app_api.errors import EXCEPTION_HANDLERS, problem_body
from miniprograms.access import public
from miniprograms.contract import Problem


@pytest.mark.parametrize(
    ("locale", "detail"),
    [
        ("zh_Hans", "验证码错误或已过期，还可尝试…次。"),
        ("zh_Hant", "驗證碼錯誤或已過期，還可嘗試…次。"),
        ("en", "The code is wrong or has expired. … tries left."),
    ],
)
def test_a_missing_param_reads_as_an_ellipsis_and_is_logged(locale: str, detail: str) -> None:
    with locales.use(locale), capture_logs() as logged:
        body = problem_body("otp_invalid", "/api/v1/auth/login", {"tries": 3})  # not "remaining"
    assert (body["status"], body["code"], body["detail"]) == (401, "otp_invalid", detail)
    assert {"event": "problem_params_missing", "code": "otp_invalid", "missing": ["remaining"]} in [
        {key: entry.get(key) for key in ("event", "code", "missing")} for entry in logged
    ]


def test_given_params_fill_the_text_and_log_nothing() -> None:
    with locales.use("en"), capture_logs() as logged:
        body = problem_body("otp_invalid", "/api/v1/auth/login", {"remaining": 2})
    assert body["detail"] == "The code is wrong or has expired. 2 tries left."
    assert logged == []


@get("/declared", opt={"access": public(), "problems": ("identity_locked",)})
async def declared() -> None:
    raise Problem("identity_locked")


@get("/undeclared", opt={"access": public(), "problems": ("not_found",)})
async def undeclared() -> None:
    raise Problem("identity_locked")


@get("/unruled")
async def unruled() -> None:
    raise Problem("identity_locked")


@pytest.mark.parametrize(
    ("path", "warned"), [("/declared", False), ("/undeclared", True), ("/unruled", False)]
)
async def test_a_problem_the_route_does_not_declare_is_served_and_warned_about(
    path: str, warned: bool
) -> None:
    app = Litestar([declared, undeclared, unruled], exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    with capture_logs() as logged:
        async with AsyncTestClient(app) as client:
            resp = await client.get(path)
    assert (resp.status_code, resp.json()["code"]) == (409, "identity_locked")
    warnings = [entry for entry in logged if entry["event"] == "problem_not_declared"]
    # A route without a rule has no operation to compare with (and never passes start-up).
    assert bool(warnings) is warned
    if warned:
        assert warnings[0]["code"] == "identity_locked" and warnings[0]["declared"] == ["not_found"]
