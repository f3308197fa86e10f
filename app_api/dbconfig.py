"""Tortoise config for the ``tortoise`` CLI (``make migrations``): ``-c app_api.dbconfig.TORTOISE_ORM``."""

import os

from app_api.db import tortoise_config

TORTOISE_ORM = tortoise_config(
    os.environ.get("SUPERAPP_DATABASE_URL", "sqlite://var/makemigrations.sqlite3")
)
