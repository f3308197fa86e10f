"""What every upstream's sandbox handler is given: the provincial gateway's common behaviour.

An upstream that the sandbox plays names its handler in its ``Upstream(sandbox=...)``
declaration as ``"module:routes"``; the sandbox calls ``routes(kit)`` with a
:class:`SandboxKit` of that upstream and mounts the routes it returns. The kit gives each
route the gateway's behaviour: the upstream's faults (keyed by its name), the signature,
clock-skew and replay checks, and, for per-person routes, the person named by ``id_number``.
Handlers answer with :func:`ok`, :func:`page` and :func:`gateway_error`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from integrations import clock
from integrations.provincial.gateway import PREFIX
from integrations.sandbox import people
from integrations.sandbox.faults import FaultBoard
from integrations.sandbox.guard import SignatureGuard, gateway_error

MAX_PAGE_SIZE = 100
IDEMPOTENCY_KEY = "X-Idempotency-Key"  # every write carries one; a repeat answers the same

Handler = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]  # (request, body)
PersonHandler = Callable[[web.Request, people.Person, Any], Awaitable[web.StreamResponse]]


def ok(data: Any) -> web.Response:
    """The gateway's envelope around an answer."""
    return web.json_response({"code": "OK", "message": "success", "data": data})


def page(request: web.Request, rows: list[dict]) -> web.Response:
    """One page of ``rows``, as the request's ``page``/``page_size`` ask (1 and 20 unset)."""
    try:
        number = int(request.query.get("page", "1"))
        size = int(request.query.get("page_size", "20"))
    except ValueError:
        return gateway_error(400, "INVALID_PARAMETER", "page and page_size are integers")
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        return gateway_error(400, "INVALID_PARAMETER", "page >= 1, 1 <= page_size <= 100")
    start = (number - 1) * size
    return ok(
        {"items": rows[start : start + size], "page": number, "page_size": size, "total": len(rows)}
    )


class SandboxKit:
    """One upstream's share of the sandbox: its routes get the gateway's behaviour.

    Route paths are under the upstream's base, ``/gov/v1/<name with dashes>`` (as in
    ``openapi/provincial.yaml``). ``state`` is whatever the handler keeps (issued
    certificates, filed applications...), published for development and tests through the
    sandbox app's ``UPSTREAMS``.
    """

    def __init__(
        self, name: str, guard: SignatureGuard, faults: FaultBoard, today: date | None
    ) -> None:
        self.name = name  # the fault board's key
        self.base = f"{PREFIX}/{name.replace('_', '-')}"
        self.guard = guard
        self.faults = faults
        self._today = today  # pinned by SUPERAPP_TODAY, as the service's is; else the calendar
        self.state: Any = None

    def today(self) -> date:
        """The date the province's records run up to (the service's today)."""
        return clock.today(self._today)

    def get(self, path: str, handler: PersonHandler) -> web.RouteDef:
        """A per-person read: ``handler(request, person, body)`` for the query's ``id_number``."""
        return self.person("GET", path, handler)

    def post(self, path: str, handler: PersonHandler) -> web.RouteDef:
        """A per-person write: ``handler(request, person, body)`` for the body's ``id_number``,
        refused without an ``X-Idempotency-Key`` (the handler finds it in the headers)."""

        async def write(request: web.Request, person: people.Person, body: Any) -> web.Response:
            if not request.headers.get(IDEMPOTENCY_KEY):
                return gateway_error(
                    400, "IDEMPOTENCY_KEY_REQUIRED", f"{IDEMPOTENCY_KEY} is required"
                )
            return await handler(request, person, body)

        return self.person("POST", path, write)

    def person(self, method: str, path: str, handler: PersonHandler) -> web.RouteDef:
        """``handler(request, person, body)``; ``PERSON_NOT_FOUND`` for a number nobody has."""

        async def about_person(request: web.Request, body: Any) -> web.StreamResponse:
            if method == "POST":
                id_number = body.get("id_number") if isinstance(body, dict) else None
            else:
                id_number = request.query.get("id_number")
            try:
                person = people.person(str(id_number or ""), self.today())
            except ValueError:
                return gateway_error(404, "PERSON_NOT_FOUND", "no record for this person")
            return await handler(request, person, body)

        return self.plain(method, path, about_person)

    def plain(self, method: str, path: str, handler: Handler) -> web.RouteDef:
        """``handler(request, body)`` behind the upstream's faults and the signature checks."""

        async def served(request: web.Request) -> web.StreamResponse:
            async def answer() -> web.StreamResponse:
                return await handler(request, await self.guard.check(request))

            return await self.faults.apply(self.name, answer)

        return web.route(method, self.base + path, served)


# An upstream's sandbox handler: ``def routes(kit) -> list[web.RouteDef]``, named by its
# ``Upstream(sandbox="module:routes")``. Development surfaces (``/admin/...``) may be among them.
SandboxHandler = Callable[[SandboxKit], list[web.RouteDef]]


class SandboxHandlerError(ImportError):
    """An upstream's ``sandbox`` path names no importable handler; the message names the
    upstream, the path and why (the import's own error)."""


def load_handler(path: str, upstream: str) -> SandboxHandler:
    """The sandbox handler an ``Upstream`` named ``upstream`` names as ``"module:routes"``.

    Raises :class:`SandboxHandlerError` (an ImportError) when the module does not import or
    lacks the attribute: only the sandbox reads the path, so without the upstream's name
    a bare ModuleNotFoundError would not say which declaration to fix.
    """
    module_name, _, attribute = path.partition(":")
    where = f"upstream {upstream!r}: sandbox={path!r}"
    if not module_name or not attribute:
        raise ValueError(f"{where}: a sandbox handler is named 'module:function'")
    try:
        handler: SandboxHandler = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SandboxHandlerError(f"{where} does not import: {exc}") from exc
    if not callable(handler):
        raise SandboxHandlerError(f"{where} is a {type(handler).__name__}, not a function")
    return handler
