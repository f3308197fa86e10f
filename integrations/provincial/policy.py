"""How patiently we treat each upstream: timeouts, retries, breaker and cache lifetimes."""

from __future__ import annotations

import msgspec


class UpstreamPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """One upstream's timeouts, retries, breaker and cache lifetime (each ``Upstream`` has one)."""

    connect_timeout_s: float = 0.5
    attempt_timeout_s: float = 1.0
    budget_s: float = 1.5  # all attempts and back-off of one call fit in here
    retries: int = 2
    backoff_base_s: float = 0.05
    breaker_threshold: int = 5  # consecutive failures that open the breaker
    breaker_reset_s: float = 30.0  # how long it stays open before one probe
    stale_ttl_s: int = 7 * 24 * 3600  # how long a copy may stand in when the upstream fails
