"""Helpers every mini-program's service uses: the real-name check and upstream errors."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import TypeVar

from integrations.provincial import UpstreamUnavailable
from miniprograms.contract import Problem, Subject

T = TypeVar("T")


def id_number_of(subject: Subject) -> str:
    """The subject's ID number, or a ``real_name_required`` problem."""
    if not subject.id_number:
        raise Problem("real_name_required")
    return subject.id_number


async def upstream(call: Awaitable[T]) -> T:
    """Await a provincial call; an unavailable upstream becomes a 503 with Retry-After."""
    try:
        return await call
    except UpstreamUnavailable as exc:
        seconds = max(1, math.ceil(exc.retry_after_s or 30))
        raise Problem(
            "upstream_unavailable", seconds=seconds, headers={"Retry-After": str(seconds)}
        ) from exc
