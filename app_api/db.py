"""Tortoise ORM set-up: the config, start and stop, and migrations.

Migrations use Tortoise's own migration framework: its operations are rendered per
dialect at run time, so one committed history serves SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from app_api.declarations import DeclarationError
from app_api.miniprogram import installed

CORE_MODELS = ["app_api.identity.models", "app_api.audit.chain"]


def _embedded(database_url: str) -> str:
    """SQLite in WAL mode with synchronous=NORMAL: no fsync per commit, still crash-safe for
    the process (only a power cut may lose the last commits), which suits the embedded default."""
    if "synchronous=" in database_url or database_url.startswith("sqlite://:memory:"):
        return database_url
    return database_url + ("&" if "?" in database_url else "?") + "synchronous=NORMAL"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config: our core app plus one app per installed mini-program."""
    if database_url.startswith("sqlite://"):
        if not database_url.startswith("sqlite://:memory:"):
            Path(database_url.removeprefix("sqlite://").split("?")[0]).parent.mkdir(
                parents=True, exist_ok=True
            )
        database_url = _embedded(database_url)
    apps: dict[str, Any] = {
        "core": {
            "models": CORE_MODELS,
            "migrations": "app_api.migrations",
            "default_connection": "default",
        },
        # The outbox lives in a lower room with its own models and migrations.
        "notifications": {
            "models": ["notifications.models"],
            "migrations": "notifications.migrations",
            "default_connection": "default",
        },
    }
    for program in installed():
        if program.models_module:
            if program.slug in apps:  # its models would replace ours
                raise DeclarationError(f"mini-program slug {program.slug!r} is app_api's own")
            apps[program.slug] = {
                "models": [program.models_module],
                "migrations": program.migrations_module,
                "default_connection": "default",
            }
    return {
        "connections": {"default": database_url},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


def placeholders(dialect: str, count: int, start: int = 0) -> list[str]:
    """Bind-parameter marks for raw SQL: ``$1, $2`` on PostgreSQL, ``?`` on SQLite."""
    if dialect == "postgres":
        return [f"${start + i + 1}" for i in range(count)]
    return ["?"] * count


async def init(database_url: str) -> None:
    """Open the connection pool for this process."""
    # Litestar serves each request in its own task; the global fallback lets those tasks
    # see the connections opened in the lifespan task.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> None:
    """Apply every pending migration of every app."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()
