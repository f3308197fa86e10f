"""Fixed-window counters in Redis that hold under concurrency: count first, then decide."""

from __future__ import annotations

from redis.asyncio import Redis


async def count(redis: Redis, key: str, window_s: int) -> tuple[int, int]:
    """Count one use of ``key``; returns this use's place in the window and the seconds left.

    The window starts with the key in the same MULTI as the increment, so twenty concurrent
    callers see twenty different places and no crash leaves a counter without an expiry
    (which would lock someone out for good).
    """
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_s, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, place, ttl = await pipe.execute()
    return int(place), max(int(ttl), 1)


async def take(redis: Redis, key: str, limit: int, window_s: int) -> int | None:
    """Count one use of ``key``; returns the seconds to wait when that use is over ``limit``."""
    place, ttl = await count(redis, key, window_s)
    return ttl if place > limit else None


# DECR only a counter that still exists: one that expired meanwhile must not come back
# as -1 with no expiry.
_GIVE_BACK = (
    "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"
)


async def give_back(redis: Redis, key: str) -> None:
    """Undo one :func:`take` whose attempt taught the caller nothing (the check was down)."""
    await redis.eval(_GIVE_BACK, 1, key)
