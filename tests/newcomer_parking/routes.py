"""/api/v1/parking: a resident's parking permits."""

from __future__ import annotations

from litestar import Router, get

from miniprograms.access import resident
from miniprograms.contract import AuditHook, Runtime, Subject
from tests.newcomer_parking import service
from tests.newcomer_parking.schemas import PermitsOut
from tests.newcomer_parking.upstream import ParkingUpstream


@get(
    "/permits",
    opt={
        "access": resident(scope="view_parking_permits"),
        "problems": ("parking_permit_missing", "real_name_required", "upstream_unavailable"),
    },
    summary="My parking permits",
)
async def permits(
    subject: Subject, parking: ParkingUpstream, audit: AuditHook, runtime: Runtime
) -> PermitsOut:
    found = await service.permits_of(parking, subject, audit, runtime.settings.office)
    return service.permits_out(found, runtime.settings.reminder_days)


def router() -> Router:
    return Router(path="/parking", route_handlers=[permits], tags=["parking"])
