"""The Redis connection: a real server, or fakeredis in-process for the embedded default."""

from __future__ import annotations

import fakeredis
from redis.asyncio import Redis

# One in-process server per URL, so every client of a process shares the same data.
_fake_servers: dict[str, fakeredis.FakeServer] = {}


def connect(url: str, *, decode: bool = True) -> Redis:
    """Open a client for ``url``; ``fakeredis://name`` gives an in-process server.

    ``decode=False`` gives a bytes client, as the job queue expects.
    """
    if url.startswith("fakeredis://"):
        # SAQ needs commands that fakeredis only exposes when it reports server 6.x.
        server = _fake_servers.setdefault(url, fakeredis.FakeServer(version=(6,)))
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=decode, version=(6,))
    return Redis.from_url(url, decode_responses=decode)


def forget_fake(url: str) -> None:
    """Drop an in-process server (tests start each case on an empty one)."""
    _fake_servers.pop(url, None)
