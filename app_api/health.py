"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Response, Router, get
from litestar.openapi import ResponseSpec
from tortoise import connections

from app_api.schemas import Out
from app_api.services import Services
from miniprograms.access import public


class Health(Out):
    status: str
    checks: dict[str, str]


@get("/live", opt={"access": public()}, summary="The process is up")
async def live() -> Health:
    return Health(status="ok", checks={})


@get(
    "/ready",
    opt={"access": public()},
    summary="Database and Redis answer",
    responses={503: ResponseSpec(Health, description="The database or Redis does not answer")},
)
async def ready(services: Services) -> Response[Health]:
    checks: dict[str, str] = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports, it does not raise
        checks["database"] = type(exc).__name__
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = type(exc).__name__
    ok = all(v == "ok" for v in checks.values())
    return Response(
        Health(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503
    )


router = Router(path="/health", route_handlers=[live, ready], tags=["health"])
