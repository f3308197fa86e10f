"""Reading the audit log: auditors see all of it, a resident sees who touched their data."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from litestar import Request, Router, get
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from app_api.audit.chain import AuditEvent
from app_api.auth.sessions import Principal
from app_api.deps import AuditFn
from app_api.schemas import Out
from miniprograms.access import operator, resident
from miniprograms.common import PageNo, PageSize


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str
    subject_id: str | None
    action: str
    resource: str
    purpose: str


def _out(r: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        seq=r.seq,
        at=r.at,
        actor_kind=r.actor_kind,
        actor_id=r.actor_id,
        subject_id=r.subject_id,
        action=r.action,
        resource=r.resource,
        purpose=r.purpose,
    )


class AuditEventPage(Out):
    """The project's page shape: ``items`` of page ``page`` of ``total`` events."""

    items: list[AuditEventOut]
    page: int
    page_size: int
    total: int


class AuditPage(Out):
    events: list[AuditEventOut]
    next_after: int | None


def _after_page(rows: list[AuditEvent], limit: int) -> AuditPage:
    events = [_out(r) for r in rows]
    return AuditPage(events=events, next_after=events[-1].seq if len(events) == limit else None)


Limit = Annotated[int, Parameter(ge=1, le=200)]
# Sequence numbers are BIGINT: a larger cursor is a bad request, not a database error.
# 2**53, not the column's 2**63 - 1: the bound must survive a JSON reader's doubles, or a
# client (the fuzzer did) reads a larger cursor as allowed.
After = Annotated[int, Parameter(ge=0, le=2**53)]


# The handler's names differ from the query's on purpose: a handler parameter named like an
# app-wide dependency (``subject_id``) is filled by the dependency, not by the query.
def _text(name: str, description: str) -> Parameter:
    return Parameter(query=name, description=description, min_length=1, max_length=64)


def _moment(name: str, description: str) -> Parameter:
    return Parameter(
        query=name,
        description=f"{description} With its UTC offset, e.g. `2026-05-01T08:00:00+08:00`.",
    )


# RFC 3339, offset included: Litestar alone would also take a naive time or a bare number
# (``to=0.5``, read as seconds since 1970).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _require_instants(request: Request, *names: str) -> None:
    """Refuse a time that is not an RFC 3339 instant with its offset: it names no instant."""
    errors = [
        {"message": "Expected an RFC 3339 time with its offset", "key": name, "source": "query"}
        for name in names
        if any(not _INSTANT.fullmatch(raw) for raw in request.query_params.getall(name, []))
    ]
    if errors:
        raise ValidationException(extra=errors)


@get("/audit/events", opt={"access": operator("auditor")}, summary="The audit log (auditors)")
async def audit_events(
    request: Request,
    audit: AuditFn,
    by_subject: Annotated[
        str | None, _text("subject_id", "Whose personal data was touched.")
    ] = None,
    by_actor: Annotated[str | None, _text("actor_id", "Who acted.")] = None,
    by_action: Annotated[str | None, _text("action", "What was done, e.g. `profile.read`.")] = None,
    since: Annotated[datetime | None, _moment("from", "Events at or after this instant.")] = None,
    until: Annotated[datetime | None, _moment("to", "Events before this instant.")] = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> AuditEventPage:
    """Every audited act, oldest first, filtered by any of subject, actor, action and time."""
    _require_instants(request, "from", "to")
    query = AuditEvent.all()
    if by_subject:
        query = query.filter(subject_id=by_subject)
    if by_actor:
        query = query.filter(actor_id=by_actor)
    if by_action:
        query = query.filter(action=by_action)
    # In UTC, as stored: SQLite compares the times as text.
    if since:
        query = query.filter(at__gte=since.astimezone(UTC))
    if until:
        query = query.filter(at__lt=until.astimezone(UTC))
    total = await query.count()
    rows = await query.order_by("seq").offset((page - 1) * page_size).limit(page_size)
    # Reading the log is itself an act worth recording.
    await audit("audit.read", f"audit:{by_subject or '*'}", "oversight")
    return AuditEventPage(
        items=[_out(r) for r in rows], page=page, page_size=page_size, total=total
    )


@get("/me/access-log", opt={"access": resident()}, summary="Who read or changed my personal data")
async def my_access_log(principal: Principal, after: After = 0, limit: Limit = 50) -> AuditPage:
    rows = (
        await AuditEvent.filter(subject_id=principal.account_id, seq__gt=after)
        .order_by("seq")
        .limit(limit)
    )
    return _after_page(rows, limit)


router = Router(path="/api/v1", route_handlers=[audit_events, my_access_log], tags=["audit"])
