"""The Redis connection: a real server, or fakeredis in-process for the embedded default."""

from __future__ import annotations

from typing import Any

import fakeredis
from aredis_om import HashModel
from redis.asyncio import Redis

# One in-process server per URL, so every client of a process shares the same data.
_fake_servers: dict[str, fakeredis.FakeServer] = {}

# The server version the in-process Redis answers as. SAQ takes the BRPOPLPUSH path below
# 6.2, which fakeredis blocks on correctly (its BLMOVE does not block).
FAKE_VERSION = (6, 0, 0)


class _FakeRedis(fakeredis.FakeAsyncRedis):
    """fakeredis without an INFO command would make SAQ fail and redis-om ask again on
    every save (its answer is cached only on success); this one answers the server section."""

    async def info(self, section: str | None = None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        version = ".".join(map(str, FAKE_VERSION))
        return {"redis_version": version, "redis_mode": "standalone"}


def connect(url: str, *, decode: bool = True) -> Redis:
    """Open a client for ``url``; ``fakeredis://name`` gives an in-process server.

    ``decode=False`` gives a bytes client, as the job queue expects.
    """
    if url.startswith("fakeredis://"):
        server = _fake_servers.setdefault(url, fakeredis.FakeServer(version=FAKE_VERSION))
        return _FakeRedis(server=server, decode_responses=decode, version=FAKE_VERSION)
    return Redis.from_url(url, decode_responses=decode)


def forget_fake(url: str) -> None:
    """Drop an in-process server (tests start each case on an empty one)."""
    _fake_servers.pop(url, None)


async def save_expiring(record: HashModel, ttl_s: int) -> None:
    """Write a record and its lifetime in one MULTI/EXEC.

    Two separate commands would leave a window in which a crash keeps a token or a code
    alive forever.
    """
    async with record.db().pipeline(transaction=True) as pipe:
        await record.save(pipeline=pipe)
        await record.expire(ttl_s, pipeline=pipe)
        await pipe.execute()
