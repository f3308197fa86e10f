"""The library's background work and its start-up/shutdown hooks."""

from __future__ import annotations

from collections.abc import Mapping

from miniprograms.contract import DemoSeed, Runtime
from notifications.addressed import Addressed

HOURS_KEY = "opening_hours"
LIFECYCLE_KEY = "lifecycle"


async def publish_opening_hours(runtime: Runtime, hours: str | None = None) -> str:
    """Every morning (and on demand): today's opening hours, as the home card shows them."""
    value = hours or runtime.settings.opening_hours
    await runtime.store.set(HOURS_KEY, value)
    return value


async def remind_due_loans(runtime: Runtime, due: str, books: Mapping[str, int]) -> int:
    """Tell each reader (account id -> books due) once that their books are due on ``due``;
    returns how many were told for the first time."""
    readers = [
        Addressed(account, f"loan_due:{due}:{account}", {"count": count})
        for account, count in sorted(books.items())
    ]
    return await runtime.notify_many(
        readers, "service_status", "loan_due", {"due": due}, link="/api/v1/library/loans"
    )


async def started(runtime: Runtime) -> None:
    await runtime.store.rpush(LIFECYCLE_KEY, "started")


async def stopped(runtime: Runtime) -> None:
    await runtime.store.rpush(LIFECYCLE_KEY, "stopped")


async def demo(seed: DemoSeed) -> dict[str, int]:
    """Its part of the demo city: the named residents with an ID number hold a library card."""
    return {"readers": sum(1 for resident in seed.residents if resident.id_number)}
