"""Parking logic: plain functions over the client's Protocol."""

from __future__ import annotations

from integrations.provincial import UpstreamRejected
from miniprograms.common import id_number_of, upstream
from miniprograms.contract import AuditHook, Problem, Subject, day
from tests.newcomer_parking.schemas import PermitOut, PermitsOut
from tests.newcomer_parking.upstream import ParkingUpstream, Permits


async def permits_of(
    parking: ParkingUpstream, subject: Subject, audit: AuditHook, office: str
) -> Permits:
    """The subject's permits; ``parking_permit_missing`` (naming ``office``) without one."""
    try:
        fetched = await upstream(
            parking.permits(id_number_of(subject), audit=audit, purpose="parking.permits")
        )
    except UpstreamRejected:
        raise Problem("parking_permit_missing", office=office) from None
    return fetched.data


def permits_out(permits: Permits, reminder_days: int) -> PermitsOut:
    return PermitsOut(
        permits=[
            PermitOut(plate=p.plate, zone=p.zone, valid_until=day(p.valid_until))
            for p in permits.items
        ],
        reminder_days=reminder_days,
    )
