"""The provincial gateway's wire shapes every upstream shares (openapi/provincial.yaml).

Each upstream's own data lives with its client (``population.py``, ``enterprise.py``, a
mini-program's ``upstream.py``). Money is integer fen everywhere; a float in a money field
is a malformed answer.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T]):
    """``{"code": "OK", "message": ..., "data": ...}``, or an error code and no data."""

    code: str
    message: str = ""
    data: T | None = None


class Page(msgspec.Struct, Generic[T]):
    """One page of a paged list."""

    items: list[T]
    page: int
    page_size: int
    total: int
