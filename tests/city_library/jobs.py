"""The library's background work and its start-up/shutdown hooks."""

from __future__ import annotations

from miniprograms.contract import Runtime

HOURS_KEY = "city_library:opening_hours"
LIFECYCLE_KEY = "city_library:lifecycle"


async def publish_opening_hours(runtime: Runtime, hours: str | None = None) -> str:
    """Every morning (and on demand): today's opening hours, as the home card shows them."""
    value = hours or runtime.settings.opening_hours
    await runtime.redis.set(HOURS_KEY, value)
    return value


async def started(runtime: Runtime) -> None:
    await runtime.redis.rpush(LIFECYCLE_KEY, "started")


async def stopped(runtime: Runtime) -> None:
    await runtime.redis.rpush(LIFECYCLE_KEY, "stopped")
