"""ASGI middleware: request locale and a masked access log, around every request."""

from __future__ import annotations

import time

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

import locales

access_log = structlog.get_logger("superapp.access")


def locale_middleware(app: ASGIApp) -> ASGIApp:
    """Negotiate the locale from ``Accept-Language`` and echo it as ``Content-Language``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None
        )
        locale = locales.negotiate(header)
        locales.set_current(locale)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Content-Language"] = locales.TAGS[locale]
                headers.add("Vary", "Accept-Language")
            await send(message)

        await app(scope, receive, send_with_language)

    return middleware


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    """One JSON line per request: method, route, status, duration. No bodies, no queries."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        responded = hung_up = False

        async def watch() -> Message:
            nonlocal hung_up
            message = await receive()
            if message["type"] == "http.disconnect" and not responded:
                hung_up = True
            return message

        async def capture(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
            await send(message)

        try:
            await app(scope, watch, capture)
        finally:
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                # 499 (nginx's "client closed request"): the caller left before an answer,
                # so whatever the app then said is no server error and reached no one.
                status=499 if hung_up else status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )

    return middleware


def every_request(app: ASGIApp) -> ASGIApp:
    """Wrap the whole app, so that unmatched routes (404, 405) are logged and localized too:
    exactly one access line per HTTP request, with the locale negotiated inside it."""
    return access_log_middleware(locale_middleware(app))
