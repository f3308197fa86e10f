"""/api/v1/library: a resident's loans and the opening hours."""

from __future__ import annotations

from litestar import Router, get

from miniprograms.access import resident
from miniprograms.contract import AuditHook, Runtime, Subject
from tests.city_library import service
from tests.city_library.jobs import HOURS_KEY
from tests.city_library.schemas import HoursOut, LoansOut
from tests.city_library.upstream import LibraryUpstream


@get(
    "/loans",
    opt={
        "access": resident(scope="view_library_loans"),
        "problems": ("library_card_missing", "real_name_required", "upstream_unavailable"),
    },
    summary="Books I have borrowed",
)
async def loans(
    subject: Subject, library: LibraryUpstream, audit: AuditHook, runtime: Runtime
) -> LoansOut:
    found = await service.loans_of(library, subject, audit, runtime.settings.branch)
    return service.loans_out(found, runtime.settings.renewal_days)


@get("/hours", opt={"access": resident()}, summary="Today's opening hours")
async def hours(runtime: Runtime) -> HoursOut:
    value = await runtime.store.get(HOURS_KEY)
    return HoursOut(opening_hours=value)


def router() -> Router:
    return Router(path="/library", route_handlers=[loans, hours], tags=["city library"])
