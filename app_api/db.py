"""Tortoise ORM set-up: the config, start and stop, and migrations.

Migrations use Tortoise's own migration framework: its operations are rendered per
dialect at run time, so one committed history serves SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from app_api.miniprogram import installed

CORE_MODELS = ["app_api.identity.models", "app_api.audit.chain"]


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config: our core app plus one app per installed mini-program."""
    if database_url.startswith("sqlite://") and not database_url.startswith("sqlite://:memory:"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    apps: dict[str, Any] = {
        "core": {
            "models": CORE_MODELS,
            "migrations": "app_api.migrations",
            "default_connection": "default",
        }
    }
    for program in installed():
        if program.models_module:
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
