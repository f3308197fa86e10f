"""Parking background work: a daily reminder sweep (here it only records that it ran)."""

from __future__ import annotations

from miniprograms.contract import Runtime

SWEEP_KEY = "newcomer_parking:last_sweep"


async def remind_expiring(runtime: Runtime, note: str = "cron") -> str:
    """Every morning: remind holders whose permit ends within ``reminder_days``."""
    value = f"{note}:{runtime.settings.reminder_days}"
    await runtime.store.set(SWEEP_KEY, value)
    return value
