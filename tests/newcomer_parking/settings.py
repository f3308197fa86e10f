"""Parking settings: SUPERAPP_NEWCOMER_PARKING_<FIELD>."""

from __future__ import annotations

import msgspec


class ParkingSettings(msgspec.Struct, frozen=True, kw_only=True):
    office: str = "宿迁市停车管理处"  # where a resident without a permit applies
    reminder_days: int = 7  # remind this many days before a permit expires

    def production_problems(self) -> list[str]:
        """What production refuses (joins the core checks)."""
        if not 1 <= self.reminder_days <= 30:
            return ["SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS must be between 1 and 30"]
        return []
