"""What the library's routes answer."""

from __future__ import annotations

import msgspec

from miniprograms.contract import Day


class LoanOut(msgspec.Struct, kw_only=True):
    title: str
    due: Day


class LoansOut(msgspec.Struct, kw_only=True):
    loans: list[LoanOut]
    renewal_days: int


class HoursOut(msgspec.Struct, kw_only=True):
    opening_hours: str | None
