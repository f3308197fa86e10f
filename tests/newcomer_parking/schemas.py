"""What the parking routes answer."""

from __future__ import annotations

import msgspec

from miniprograms.contract import Day


class PermitOut(msgspec.Struct, kw_only=True):
    plate: str
    zone: str
    valid_until: Day


class PermitsOut(msgspec.Struct, kw_only=True):
    permits: list[PermitOut]
    reminder_days: int
