"""The library's settings: SUPERAPP_CITY_LIBRARY_<FIELD>."""

from __future__ import annotations

import msgspec


class LibrarySettings(msgspec.Struct, frozen=True, kw_only=True):
    branch: str = "宿迁市图书馆"  # where a resident without a card is sent
    renewal_days: int = 14
    opening_hours: str = "9:00-17:00"  # published by the morning job

    def production_problems(self) -> list[str]:
        """What production refuses (joins the core checks)."""
        if not 1 <= self.renewal_days <= 60:
            return ["SUPERAPP_CITY_LIBRARY_RENEWAL_DAYS must be between 1 and 60"]
        return []
