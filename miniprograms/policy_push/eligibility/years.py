"""Whole years between a date and the evaluation day, and the cut-off dates that express
"at least N years" as a plain date comparison (so SQL needs no per-row function)."""

from __future__ import annotations

from datetime import date


def whole_years(since: date, on: date) -> int:
    """Completed years from ``since`` to ``on``: a person turns N on the birthday itself.

    Someone born on 29 February turns a year older on 1 March in common years, because the
    anniversary is reached only once the calendar has passed 28 February.
    """
    return on.year - since.year - ((on.month, on.day) < (since.month, since.day))


def cutoff(on: date, years: int) -> date:
    """The latest ``since`` for which ``whole_years(since, on) >= years``.

    ``whole_years(d, on) >= years`` exactly when ``d <= cutoff(on, years)``: the same day
    ``years`` years earlier, or 28 February when ``on`` is 29 February and that year is common
    (no 29 February exists there, and every earlier day of that year qualifies).
    """
    year = on.year - years
    try:
        return on.replace(year=year)
    except ValueError:  # 29 February of a common year
        return date(year, 2, 28)
