"""Dependencies handed to route handlers by name (see ``miniprograms.contract``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date

from litestar import Request
from litestar.di import Provide
from tortoise import connections

from app_api.audit.chain import AuditEntry
from app_api.auth.guards import client_ip, services_of
from app_api.auth.sessions import Principal
from app_api.db import placeholders
from app_api.errors import Problem
from app_api.services import Services
from integrations import clock
from locales import current
from miniprograms.contract import Actor, EnterpriseRef, Subject

AuditFn = Callable[[str, str, str], Awaitable[None]]


async def provide_services(request: Request) -> Services:
    return services_of(request)


async def provide_principal(request: Request) -> Principal:
    return request.state.principal


async def provide_subject_id(request: Request) -> str:
    """Id of the resident whose data is served (set by the access guard)."""
    return request.state.subject_id


async def provide_actor(request: Request) -> Actor:
    """Who is calling, as a mini-program may know it (no session or assurance details)."""
    principal: Principal = request.state.principal
    return Actor(kind=principal.kind, account_id=principal.account_id)


async def provide_today(request: Request) -> date:
    """The calendar day the service and the province agree on (see integrations.clock)."""
    return clock.today(services_of(request).settings.today)


async def provide_enterprises(request: Request) -> Mapping[str, EnterpriseRef]:
    """The enterprises the caller administers, by credit code. Always the caller's own: a
    relative acting for an elder does not act for the elder's company."""
    principal: Principal = request.state.principal
    if principal.kind != "resident":
        return {}
    conn = connections.get("default")
    mark = placeholders(conn.capabilities.dialect, 1)[0]
    rows = await conn.execute_query_dict(
        "SELECT e.id, e.credit_code, e.name FROM enterprise e"
        f" JOIN enterprise_admin a ON a.enterprise_id = e.id WHERE a.resident_id = {mark}"
        " ORDER BY e.credit_code",
        [principal.account_id],
    )
    return {
        row["credit_code"]: EnterpriseRef(
            id=str(row["id"]), credit_code=row["credit_code"], name=row["name"]
        )
        for row in rows
    }


async def provide_subject(request: Request) -> Subject:
    """The resident this request is about (the caller, or an elder who delegated)."""
    principal: Principal = request.state.principal
    if principal.kind != "resident":
        raise Problem("forbidden")
    resident_id: str = request.state.subject_id
    conn = connections.get("default")
    # Plain SQL: every resident request passes here, and building the query through the
    # ORM costs more than running it.
    mark = placeholders(conn.capabilities.dialect, 1)[0]
    rows = await conn.execute_query_dict(
        f"SELECT name, id_number_sealed FROM resident WHERE id = {mark}", [resident_id]
    )
    if not rows:
        raise Problem("token_invalid")  # the account is gone
    sealed = rows[0]["id_number_sealed"]
    return Subject(
        resident_id=resident_id,
        actor_id=principal.account_id,
        id_number=services_of(request).vault.open(sealed, context="resident.id_number")
        if sealed
        else None,
        name=rows[0]["name"],
        locale=current(),
    )


class AuditBuffer:
    """Collects a request's audit entries and writes them in one transaction.

    Used where one request reads many things (the home screen reads every card's upstream):
    one commit instead of one per read.
    """

    def __init__(self, request: Request, subject_id: str | None = None) -> None:
        principal: Principal = request.state.principal
        self._log = services_of(request).audit
        self._who = {
            "actor_kind": principal.kind,
            "actor_id": principal.account_id,
            # An operator acting on a resident's record names that resident as the subject.
            "subject_id": subject_id or getattr(request.state, "subject_id", None),
            "ip": client_ip(request),
        }
        # A read's entries may be committed without waiting for the disk (see audit.chain);
        # anything else's are durable. Inside audited_write they are the write's transaction's.
        self._durable = request.method not in ("GET", "HEAD")
        self.entries: list[AuditEntry] = []

    async def __call__(self, action: str, resource: str, purpose: str) -> None:
        self.entries.append(
            AuditEntry(action=action, resource=resource, purpose=purpose, **self._who)
        )

    async def flush(self) -> None:
        if self.entries:
            await self._log.append_many(self.entries, durable=self._durable)
            self.entries = []


async def provide_audit(request: Request) -> AuditFn:
    """``await audit(action, resource, purpose)`` records an act by the caller, at once."""
    return audit_about(request)


def audit_about(request: Request, subject_id: str | None = None) -> AuditFn:
    """Like the ``audit`` dependency, naming ``subject_id`` as whose data it was: an
    operator's act on a resident's record belongs in that resident's access log."""
    buffer = AuditBuffer(request, subject_id)

    async def audit(action: str, resource: str, purpose: str) -> None:
        await buffer(action, resource, purpose)
        await buffer.flush()

    return audit


async def provide_clients(request: Request) -> Mapping[str, object]:
    """Every provincial upstream's client, by upstream name: a mini-program's own dependency
    (e.g. ``social_security``) picks its client out of it, typed by its Protocol."""
    return services_of(request).clients


DEPENDENCIES = {
    "clients": Provide(provide_clients),
    "services": Provide(provide_services),
    "principal": Provide(provide_principal),
    "subject_id": Provide(provide_subject_id),
    "subject": Provide(provide_subject),
    "actor": Provide(provide_actor),
    "today": Provide(provide_today),
    "enterprises": Provide(provide_enterprises),
    "audit": Provide(provide_audit),
}
