"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app_api import db, kv, logs
from app_api.accounts.routes import router as accounts_router
from app_api.audit.routes import router as audit_router
from app_api.auth import state
from app_api.auth.guards import require_access
from app_api.auth.routes import router as auth_router
from app_api.delegation.routes import router as delegation_router
from app_api.deps import DEPENDENCIES
from app_api.errors import EXCEPTION_HANDLERS
from app_api.health import router as health_router
from app_api.home import router as home_router
from app_api.jobs import JobRunner
from app_api.middleware import access_log_middleware, locale_middleware
from app_api.miniprogram import installed
from app_api.services import build_services
from app_api.settings import Settings, load

API_VERSION = "1.0.0"


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = {"public": True}  # noqa: RUF012 - Litestar reads it as a class attribute
    include_in_schema = False


def _miniprogram_routers() -> list[Router]:
    return [Router(path="/api/v1", route_handlers=[program.router()]) for program in installed()]


def create_app(
    settings: Settings | None = None,
    *,
    start_worker: bool | None = None,
    extra_lifespans: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = (),
) -> Litestar:
    """Build the API. ``settings`` default to the environment; the worker to the settings.

    ``extra_lifespans`` run inside the app's own (``serve`` adds the sandbox there).
    """
    settings = settings or load()
    run_worker = settings.inprocess_worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        logs.configure(settings.log_level, json=settings.log_json)
        await db.init(settings.database_url)
        redis = kv.connect(settings.redis_url)
        state.bind(redis)
        services = build_services(settings, redis)
        app.state.services = services
        jobs = JobRunner(settings, services)
        app.state.jobs = jobs
        if run_worker:
            await jobs.start_worker()
        try:
            yield
        finally:
            await jobs.close()
            await services.sms.close()
            await services.provincial.close()
            await redis.aclose()
            await db.close()

    prometheus = PrometheusConfig(
        app_name="superapp", group_path=True, excluded_http_methods=["OPTIONS"]
    )
    return Litestar(
        route_handlers=[
            auth_router,
            accounts_router,
            home_router,
            delegation_router,
            audit_router,
            health_router,
            MetricsController,
            *_miniprogram_routers(),
        ],
        lifespan=[lifespan, *extra_lifespans],
        guards=[require_access],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[access_log_middleware, locale_middleware, prometheus.middleware],
        cors_config=CORSConfig(
            allow_origins=[], allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        ),
        openapi_config=OpenAPIConfig(
            title="Citizen super-app API",
            version=API_VERSION,
            description="One login and one home screen for a city's public services.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            openapi_router=Router(
                path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False
            ),
            security=[{"BearerToken": []}],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        debug=False,
    )
