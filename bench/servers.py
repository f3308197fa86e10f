"""The database and Redis a benchmark is given: named for the report, emptied before a run."""

from __future__ import annotations

import asyncio
import os


def backend() -> str:
    """What the benchmark runs on, as the report names it."""
    database = os.environ.get("SUPERAPP_DATABASE_URL", "")
    redis = os.environ.get("SUPERAPP_REDIS_URL", "")
    db_name = "PostgreSQL" if database.startswith(("postgres", "asyncpg")) else "SQLite"
    real_redis = bool(redis) and not redis.startswith("fakeredis")
    return f"{db_name} + {'Redis' if real_redis else 'fakeredis'}"


def empty_servers() -> None:
    """Empty the real servers given: the cold run must be cold, and the demo city seeded anew
    (a city left by an earlier run may hold fewer residents than this run signs in)."""
    redis_url = os.environ.get("SUPERAPP_REDIS_URL", "")
    if redis_url and not redis_url.startswith("fakeredis"):
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    database_url = os.environ.get("SUPERAPP_DATABASE_URL", "")
    if database_url.startswith(("postgres://", "asyncpg://")):
        import asyncpg

        async def reset() -> None:
            conn = await asyncpg.connect("postgresql://" + database_url.split("://", 1)[1])
            try:
                await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            finally:
                await conn.close()

        asyncio.run(reset())
