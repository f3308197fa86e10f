"""Reading the audit log: auditors see all of it, a resident sees who touched their data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Router, get
from litestar.params import Parameter

from app_api.audit.chain import AuditEvent
from app_api.auth.sessions import Principal
from app_api.deps import AuditFn
from app_api.schemas import Out


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str
    subject_id: str | None
    action: str
    resource: str
    purpose: str


class AuditPage(Out):
    events: list[AuditEventOut]
    next_after: int | None


def _page(rows: list[AuditEvent], limit: int) -> AuditPage:
    events = [
        AuditEventOut(
            seq=r.seq,
            at=r.at,
            actor_kind=r.actor_kind,
            actor_id=r.actor_id,
            subject_id=r.subject_id,
            action=r.action,
            resource=r.resource,
            purpose=r.purpose,
        )
        for r in rows
    ]
    return AuditPage(events=events, next_after=events[-1].seq if len(events) == limit else None)


Limit = Annotated[int, Parameter(ge=1, le=200)]
# Sequence numbers are BIGINT: a larger cursor is a bad request, not a database error.
After = Annotated[int, Parameter(ge=0, le=2**63 - 1)]


@get("/audit/events", opt={"roles": {"auditor"}}, summary="The audit log (auditors)")
async def audit_events(
    audit: AuditFn, subject_id: str | None = None, after: After = 0, limit: Limit = 50
) -> AuditPage:
    query = AuditEvent.filter(seq__gt=after)
    if subject_id:
        query = query.filter(subject_id=subject_id)
    rows = await query.order_by("seq").limit(limit)
    # Reading the log is itself an act worth recording.
    await audit("audit.read", f"audit:{subject_id or '*'}", "oversight")
    return _page(rows, limit)


@get("/me/access-log", opt={"kind": "resident"}, summary="Who read or changed my personal data")
async def my_access_log(principal: Principal, after: After = 0, limit: Limit = 50) -> AuditPage:
    rows = (
        await AuditEvent.filter(subject_id=principal.account_id, seq__gt=after)
        .order_by("seq")
        .limit(limit)
    )
    return _page(rows, limit)


router = Router(path="/api/v1", route_handlers=[audit_events, my_access_log], tags=["audit"])
