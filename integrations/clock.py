"""The calendar date that the service and the outside systems' sandbox agree on.

The service asks the province for "the last twelve months" and the sandbox keeps records up
to the month before its today: both must read the same calendar, or a test written this
year fails next year. Both call :func:`today` with the same setting (``SUPERAPP_TODAY``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")  # the province's calendar, whatever the server's zone


def today(fixed: date | None = None) -> date:
    """``fixed`` when the date is pinned (demos, tests), else today's date in China."""
    return fixed if fixed is not None else datetime.now(CHINA).date()
