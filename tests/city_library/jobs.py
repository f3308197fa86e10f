"""The library's background work and its start-up/shutdown hooks."""

from __future__ import annotations

from miniprograms.contract import DemoSeed, Runtime

HOURS_KEY = "opening_hours"
LIFECYCLE_KEY = "lifecycle"


async def publish_opening_hours(runtime: Runtime, hours: str | None = None) -> str:
    """Every morning (and on demand): today's opening hours, as the home card shows them."""
    value = hours or runtime.settings.opening_hours
    await runtime.store.set(HOURS_KEY, value)
    return value


async def started(runtime: Runtime) -> None:
    await runtime.store.rpush(LIFECYCLE_KEY, "started")


async def stopped(runtime: Runtime) -> None:
    await runtime.store.rpush(LIFECYCLE_KEY, "stopped")


async def demo(seed: DemoSeed) -> dict[str, int]:
    """Its part of the demo city: the named residents with an ID number hold a library card."""
    return {"readers": sum(1 for resident in seed.residents if resident.id_number)}
