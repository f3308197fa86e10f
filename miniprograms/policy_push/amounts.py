"""Dated amounts, as OpenFisca keeps its parameters: one policy, values from dates on.

An allowance that rises on 2027-01-01 is one policy with two entries; the answer for a day
is the entry in force on it (the latest ``from`` on or before the day), and the next entry
tells people what is coming.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from locales import format_money
from miniprograms.policy_push.schemas import AmountOut, DatedAmount


def problems(amounts: Sequence[DatedAmount]) -> list[str]:
    """Why a list of dated amounts cannot be saved (empty when it can)."""
    days = [a.from_ for a in amounts]
    found = []
    if days != sorted(days):
        found.append("amounts must be in date order")
    if len(set(days)) != len(days):
        found.append("two amounts start on the same day")
    return found


def stored(amounts: Sequence[DatedAmount]) -> list[dict[str, Any]]:
    """The JSON kept on the version."""
    return [
        {"from": a.from_.isoformat(), "amount_fen": a.amount_fen, "reference": a.reference}
        for a in amounts
    ]


def in_force(kept: Sequence[dict[str, Any]], on: date) -> AmountOut | None:
    """The amount in force on ``on`` and the next dated change; None before the first."""
    dated = sorted((date.fromisoformat(a["from"]), a) for a in kept)
    current = None
    upcoming = None
    for start, entry in dated:
        if start <= on:
            current = entry
        elif upcoming is None:
            upcoming = (start, entry)
    if current is None:
        return None
    return AmountOut(
        on=on,
        amount_fen=current["amount_fen"],
        amount_display=format_money(current["amount_fen"]),
        reference=current["reference"],
        next_change=upcoming[0] if upcoming else None,
        next_amount_fen=upcoming[1]["amount_fen"] if upcoming else None,
    )
