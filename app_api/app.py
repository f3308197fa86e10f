"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import Receive, Scope, Send

from app_api import mounting, openapi
from app_api.access import AccessRules
from app_api.accounts.routes import router as accounts_router
from app_api.audit.routes import router as audit_router
from app_api.auth.guards import require_access
from app_api.auth.routes import router as auth_router
from app_api.delegation.routes import router as delegation_router
from app_api.deps import DEPENDENCIES
from app_api.errors import EXCEPTION_HANDLERS
from app_api.health import router as health_router
from app_api.home import router as home_router
from app_api.inbox.callbacks import router as callbacks_router
from app_api.inbox.campaigns import router as campaigns_router
from app_api.inbox.routes import router as inbox_router
from app_api.inbox.webhooks import router as webhooks_router
from app_api.lifespan import running
from app_api.middleware import every_request
from app_api.miniprogram import installed
from app_api.settings import Settings, load
from app_api.strict import BODY_LIMIT, StrictRequest, plain_integer_queries
from miniprograms.access import public

API_VERSION = "1.0.0"


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = {"access": public()}  # noqa: RUF012 - Litestar reads it as a class attribute
    include_in_schema = False


class SuperApp(Litestar):
    """Litestar with the access log and the locale around the whole app.

    Litestar runs its middleware only for a matched route, so a 404 or 405 would be
    neither logged nor answered in the reader's language.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outermost = every_request(super().__call__)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        await self._outermost(scope, receive, send)


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
    mounting.prepare(installed())
    run_worker = settings.inprocess_worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with running(settings, start_worker=run_worker) as (services, jobs):
            app.state.services = services
            app.state.jobs = jobs
            yield

    prometheus = PrometheusConfig(
        app_name="superapp", group_path=True, excluded_http_methods=["OPTIONS"]
    )
    return SuperApp(
        route_handlers=[
            auth_router,
            accounts_router,
            home_router,
            inbox_router,
            webhooks_router,
            callbacks_router,
            campaigns_router,
            delegation_router,
            audit_router,
            health_router,
            MetricsController,
            *(mounting.router(program) for program in installed()),
        ],
        lifespan=[lifespan, *extra_lifespans],
        guards=[require_access, plain_integer_queries()],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[prometheus.middleware],
        request_class=StrictRequest,
        request_max_body_size=BODY_LIMIT,
        cors_config=CORSConfig(
            allow_origins=[], allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        ),
        openapi_config=openapi.config(API_VERSION),
        plugins=[AccessRules(), *openapi.plugins()],  # rules checked before they are documented
        # Logging is ours (app_api/logs.py: masked JSON lines); Litestar's default config
        # would re-format uvicorn's start-up lines as plain text, unmasked.
        logging_config=None,
        debug=False,
    )
