"""Health, metrics, the OpenAPI document, enterprises, and errors that never leak internals."""

from __future__ import annotations

import random

from redis.asyncio import Redis

from app_api.cli import OPENAPI_PATH, render_openapi
from app_api.demo import make_credit_code
from app_api.identity.models import Enterprise, EnterpriseAdmin, Resident
from tests.conftest import Env
from tests.live import ROOT, free_port


async def test_health_probes_and_metrics(env: Env) -> None:
    assert (await env.client.get("/health/live")).json() == {"status": "ok", "checks": {}}
    ready = await env.client.get("/health/ready")
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    await env.client.get("/api/v1/me")
    metrics = await env.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'litestar_requests_total{app_name="superapp"' in metrics.text


async def test_readiness_reports_an_unreachable_redis(env: Env) -> None:
    services = env.app.state.services
    working = services.redis
    services.redis = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        ready = await env.client.get("/health/ready")
    finally:
        await services.redis.aclose()
        services.redis = working
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["redis"] != "ok"


async def test_openapi_is_served_and_the_committed_copy_is_current(env: Env) -> None:
    served = await env.client.get("/schema/openapi.json")
    assert served.status_code == 200
    assert "/api/v1/auth/login" in served.json()["paths"]
    assert (await env.client.get("/schema")).status_code == 200
    assert (ROOT / OPENAPI_PATH).read_text() == render_openapi(), "run `make openapi`"


async def test_unknown_routes_and_methods_are_problems(env: Env) -> None:
    missing = await env.client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong_method = await env.client.delete("/api/v1/auth/otp")
    assert wrong_method.status_code in (401, 405)
    assert wrong_method.headers["content-type"].startswith("application/problem+json")


async def test_enterprise_profile_for_its_admin_at_totp_level(env: Env) -> None:
    code = make_credit_code(random.Random(1), "321302")
    tokens = await env.login("13300000001")
    company = await Enterprise.create(
        credit_code=code, name="宿迁测试科技有限公司", industry_code="6510", size="small",
        district="321302", founded_on="2020-05-01", high_tech=True, employee_count=42,
    )  # fmt: skip
    resident = await Resident.get(phone="13300000001")
    await EnterpriseAdmin.create(enterprise=company, resident=resident)

    me = await env.client.get("/api/v1/me", headers=env.auth(tokens))
    assert me.json()["enterprises"] == [{"credit_code": code, "name": "宿迁测试科技有限公司"}]
    needs_totp = await env.client.get(f"/api/v1/enterprises/{code}", headers=env.auth(tokens))
    assert needs_totp.json()["code"] == "mfa_required"

    await env.enrol_totp(tokens)
    ok = await env.client.get(f"/api/v1/enterprises/{code.lower()}", headers=env.auth(tokens))
    assert ok.status_code == 200
    assert ok.json()["size"] == {"code": "small", "label": "小型"}

    wrong_check = "1" if code[-1] == "0" else "0"
    bad = await env.client.get(
        f"/api/v1/enterprises/{code[:-1]}{wrong_check}", headers=env.auth(tokens)
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "credit_code_invalid"


async def test_non_admins_cannot_read_an_enterprise(env: Env) -> None:
    code = make_credit_code(random.Random(2), "321311")
    await Enterprise.create(
        credit_code=code, name="宿迁某某有限公司", industry_code="5100", size="micro",
        district="321311", founded_on="2019-01-01",
    )  # fmt: skip
    tokens = await env.login("13300000002")
    await env.enrol_totp(tokens)
    resp = await env.client.get(f"/api/v1/enterprises/{code}", headers=env.auth(tokens))
    assert resp.status_code == 403


def _operations(document: dict) -> dict[str, dict]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def _problem_codes(operation: dict, status: int) -> list[str]:
    """The codes an operation declares for ``status`` (its problem+json schema's enum)."""
    schema = operation["responses"][str(status)]["content"]["application/problem+json"]["schema"]
    return next(
        part["properties"]["code"]["enum"] for part in schema["allOf"] if "properties" in part
    )


async def test_public_routes_carry_no_security_and_the_others_need_a_bearer_token(env: Env) -> None:
    document = (await env.client.get("/schema/openapi.json")).json()
    operations = _operations(document)
    assert "security" not in document  # nothing is secured by default: routes say so
    for label in ("GET /health/live", "GET /health/ready", "POST /api/v1/auth/otp"):
        assert "security" not in operations[label], label
    for label in ("GET /api/v1/me", "POST /api/v1/auth/logout", "GET /api/v1/home"):
        assert operations[label]["security"] == [{"BearerToken": []}], label


async def test_every_refusal_an_operation_can_give_is_declared_as_a_problem(env: Env) -> None:
    operations = _operations((await env.client.get("/schema/openapi.json")).json())
    me = operations["GET /api/v1/me"]
    assert set(_problem_codes(me, 401)) == {"not_authenticated", "token_invalid"}
    assert "delegation_denied" in _problem_codes(me, 403)
    login = operations["POST /api/v1/auth/login"]
    assert {"otp_invalid", "otp_expired", "otp_locked"} <= set(_problem_codes(login, 401))
    assert "validation_failed" in _problem_codes(login, 422)
    assert "400" not in login["responses"] or _problem_codes(login, 400)
    identity = operations["PUT /api/v1/profile/identity"]
    assert {"identity_locked", "identity_already_bound"} <= set(_problem_codes(identity, 409))
    assert identity["x-rules-beyond-schema"] is True  # a check digit no schema states
    assert "Retry-After" in identity["responses"]["503"]["headers"]
    withdrawal = operations["POST /api/v1/housing-fund/withdrawals"]
    assert {"200", "201", "428"} <= set(withdrawal["responses"])
    key = next(p for p in withdrawal["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    summary = operations["GET /api/v1/social-security/summary"]
    act_as = next(p for p in summary["parameters"] if p["name"] == "X-Act-As")
    assert (act_as["in"], act_as["required"]) == ("header", False)
    assert "503" in operations["GET /health/ready"]["responses"]


async def test_bodies_that_reject_unknown_fields_say_so(env: Env) -> None:
    schemas = (await env.client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for name in ("LoginRequest", "IdentityBinding", "DelegationRequest", "WithdrawalRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["Profile"]  # answers may grow
    tokens = await env.login("13300000003")
    refused = await env.client.put(
        "/api/v1/profile/identity",
        json={"name": "王五", "id_number": "110101199003074477", "nickname": "x"},
        headers=env.auth(tokens),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "nickname", "reason": "unknown_field", "source": "body"}
    ]


async def test_a_header_that_fails_validation_is_named_as_a_header(env: Env) -> None:
    tokens = await env.login("13300000004")
    resp = await env.client.post(
        "/api/v1/social-security/certificates",
        json={},
        headers=env.auth(tokens, **{"Idempotency-Key": "short"}),
    )
    assert resp.status_code == 422
    assert resp.json()["errors"] == [
        {"field": "idempotency_key", "reason": "invalid", "source": "header"}
    ]


async def test_a_method_an_address_does_not_take_is_refused_naming_those_it_does(env: Env) -> None:
    resp = await env.client.request("TRACE", "/api/v1/delegations/scopes")
    assert resp.status_code == 405
    assert "GET" in {method.strip() for method in resp.headers["allow"].split(",")}


async def test_options_names_every_method_of_a_path(env: Env) -> None:
    tokens = await env.login("13300000005")
    resp = await env.client.options("/api/v1/delegations", headers=env.auth(tokens))
    assert resp.status_code == 204
    assert {m.strip() for m in resp.headers["allow"].split(",")} == {"GET", "POST", "OPTIONS"}


async def test_the_largest_cursor_the_document_allows_is_accepted(env: Env) -> None:
    """The document's bounds are JSON numbers, read as doubles: 2**63 - 1 would read as 2**63."""
    document = (await env.client.get("/schema/openapi.json")).json()
    parameters = document["paths"]["/api/v1/me/access-log"]["get"]["parameters"]
    top = int(next(p for p in parameters if p["name"] == "after")["schema"]["maximum"])
    tokens = await env.login("13300000006")
    largest = await env.client.get(f"/api/v1/me/access-log?after={top}", headers=env.auth(tokens))
    assert largest.status_code == 200
    beyond = await env.client.get(
        f"/api/v1/me/access-log?after={top + 1}", headers=env.auth(tokens)
    )
    assert beyond.status_code == 422
