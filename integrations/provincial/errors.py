"""What can go wrong upstream, in two kinds callers treat differently."""

from __future__ import annotations


class UpstreamError(Exception):
    """Base of every provincial failure."""

    def __init__(self, upstream: str, code: str, status: int | None = None) -> None:
        super().__init__(f"{upstream}: {code}")
        self.upstream = upstream
        self.code = code
        self.status = status


class UpstreamUnavailable(UpstreamError):
    """The upstream did not answer usefully: timeout, 5xx, throttled, malformed, breaker open.

    ``code`` is one of ``timeout``, ``unreachable``, ``server_error``, ``throttled``,
    ``malformed``, ``breaker_open``, ``budget_exhausted`` (no time was left to send an
    attempt). Safe reads may be served from the stale cache instead.
    """

    def __init__(
        self,
        upstream: str,
        code: str,
        status: int | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(upstream, code, status)
        self.retry_after_s = retry_after_s


class UpstreamRejected(UpstreamError):
    """The upstream answered with a business refusal (its own ``code``, e.g. ``ACCOUNT_SEALED``).

    Not retried, not counted against the breaker, never served from cache.
    """
