"""A mini-program's own corner of Redis: every key it names is under ``program:<slug>:``.

Sessions, guess counters and the cached provincial copies live in the same Redis; a program
handed the whole client could raise a session's assurance level or read a sealed copy. The
store offers the commands programs need, each with its keys prefixed, and nothing else
(no scripts, no key scans, no commands naming several keys at once).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis


class ProgramStore:
    """The :class:`~miniprograms.contract.Store` of one mini-program."""

    def __init__(self, redis: Redis, slug: str) -> None:
        self._redis = redis
        self.prefix = f"program:{slug}:"

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> Any:
        return await self._redis.get(self._key(key))

    async def set(self, key: str, value: Any, *, ex: int | None = None, nx: bool = False) -> Any:
        return await self._redis.set(self._key(key), value, ex=ex, nx=nx)

    async def delete(self, key: str) -> int:
        return await self._redis.delete(self._key(key))

    async def exists(self, key: str) -> bool:
        return bool(await self._redis.exists(self._key(key)))

    async def expire(self, key: str, seconds: int) -> bool:
        return await self._redis.expire(self._key(key), seconds)

    async def incr(self, key: str, amount: int = 1) -> int:
        return await self._redis.incrby(self._key(key), amount)

    async def hget(self, key: str, field: str) -> Any:
        return await self._redis.hget(self._key(key), field)

    async def hset(self, key: str, mapping: dict[str, Any]) -> int:
        return await self._redis.hset(self._key(key), mapping=mapping)

    async def hgetall(self, key: str) -> dict[str, Any]:
        return await self._redis.hgetall(self._key(key))

    async def rpush(self, key: str, *values: Any) -> int:
        return await self._redis.rpush(self._key(key), *values)

    async def lrange(self, key: str, start: int, end: int) -> list[Any]:
        return await self._redis.lrange(self._key(key), start, end)
