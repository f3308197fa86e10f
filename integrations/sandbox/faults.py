"""Fault injection per upstream: latency, errors, timeouts, throttling, malformed bodies."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Literal, get_args

import msgspec
from aiohttp import web

FaultKind = Literal["none", "latency", "error", "timeout", "throttle", "malformed"]
KINDS = get_args(FaultKind)


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    """How one upstream misbehaves. ``rate`` is the share of requests affected."""

    kind: FaultKind = "none"
    latency_ms: int = 0
    rate: float = 1.0
    times: int | None = None  # affect only the next N requests, then heal


async def _failure(kind: FaultKind) -> web.StreamResponse:
    if kind == "error":
        return web.json_response(
            {"code": "SYSTEM_ERROR", "message": "upstream failure"}, status=500
        )
    if kind == "throttle":
        return web.json_response(
            {"code": "THROTTLED", "message": "too many requests"},
            status=429,
            headers={"Retry-After": "1"},
        )
    if kind == "malformed":
        return web.Response(body=b'{"code": "OK", "data": {', content_type="application/json")
    await asyncio.sleep(3600)  # timeout: hang until the caller gives up
    raise AssertionError("unreachable")


class FaultBoard:
    """The faults in force, per upstream name (``sms``, ``social_security``, ...)."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: dict[str, Fault] = {}
        self._random = random.Random(seed)

    def set(self, upstream: str, fault: Fault) -> None:
        if (
            fault.kind not in KINDS
            or not 0 <= fault.rate <= 1
            or fault.latency_ms < 0
            or (fault.times or 1) < 1
        ):
            raise ValueError("bad fault")
        self._faults[upstream] = fault

    def clear(self) -> None:
        self._faults.clear()

    def snapshot(self) -> dict[str, Fault]:
        return dict(self._faults)

    async def apply(
        self, upstream: str, handler: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Serve ``handler`` as the upstream would under its current fault.

        ``latency_ms`` is the time the upstream takes to answer, its own work included, as
        a caller would time it; the simulator's work is done while that time runs.
        """
        started = time.monotonic()
        fault = self._faults.get(upstream, Fault())
        if fault.times is not None:
            if fault.times <= 1:
                self._faults.pop(upstream, None)
            else:
                self._faults[upstream] = msgspec.structs.replace(fault, times=fault.times - 1)
        normal = fault.kind in ("none", "latency") or self._random.random() >= fault.rate
        response = await handler() if normal else await _failure(fault.kind)
        remaining = started + fault.latency_ms / 1000 - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return response
