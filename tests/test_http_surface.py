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
