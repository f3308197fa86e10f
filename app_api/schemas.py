"""Base classes for what crosses the HTTP boundary."""

from __future__ import annotations

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are rejected, not ignored."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""
