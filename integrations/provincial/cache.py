"""Copies of upstream answers in Redis, sealed, for freshness and for stale-on-error.

Keys are keyed hashes of (upstream, path, query), so no ID number appears in a key; values
are AES-GCM sealed, so a Redis dump does not leak personal data.

A copy is one Redis string, ``"<fetched_at> <sealed>"``, written with its expiry in one
``SET … EX``, so no crash can leave a copy of someone's records without an end. (A sealed
blob has no fields worth a redis-om model.) Reads and writes asked for in the same turn of
the event loop share one round trip.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from collections.abc import Coroutine, Mapping

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis

KEY_PREFIX = "superapp:upstream:"

log = structlog.get_logger("superapp.provincial")


def parse(value: str) -> tuple[float, str]:
    """``(fetched_at, sealed)`` of a stored copy."""
    fetched_at, sealed = value.split(" ", 1)
    return float(fetched_at), sealed


def compose(fetched_at: float, sealed: str) -> str:
    return f"{fetched_at:.6f} {sealed}"


class ResponseCache:
    def __init__(self, redis: Redis, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("cache key must be 32 bytes")
        self.redis = redis
        self._pending: list[tuple[str, asyncio.Future[str | None]]] = []
        self._writes: list[tuple[str, str, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # batches under way
        self._aead = AESGCM(key)
        self._index_key = hashlib.sha256(b"upstream-index" + key).digest()

    def key_of(self, upstream: str, path: str, query: Mapping[str, str]) -> str:
        """``<person>:<request>``, both keyed hashes: the person part (of the ID number or
        credit code asked about) lets :meth:`forget` find every copy about one person."""
        canonical = "\n".join([upstream, path, *(f"{k}={v}" for k, v in sorted(query.items()))])
        request = hmac.new(self._index_key, canonical.encode(), hashlib.sha256).hexdigest()
        number = query.get("id_number") or query.get("credit_code")
        return f"{self._person_tag(number) if number else '-'}:{request}"

    def _person_tag(self, number: str) -> str:
        return hmac.new(
            self._index_key, b"person\x00" + number.encode(), hashlib.sha256
        ).hexdigest()[:32]

    async def forget(self, number: str) -> int:
        """Drop every copy about the person with this ID number (or credit code), e.g. after an
        operator corrected a wrongly bound number; returns how many were dropped."""
        await self.settle()  # a copy still being written must not come back afterwards
        dropped = 0
        pattern = f"{KEY_PREFIX}{self._person_tag(number)}:*"
        async for key in self.redis.scan_iter(match=pattern, count=500):
            dropped += await self.redis.delete(key)
        return dropped

    async def get(self, key: str) -> tuple[bytes, float] | None:
        """The payload and its ``fetched_at``, or ``None`` if there is no usable copy.

        Reads asked for in the same turn of the event loop (the home screen's cards ask for
        theirs together) go to Redis as one MGET.
        """
        if not self._pending:
            self._start(self._fetch_pending())
        waiter: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending.append((key, waiter))
        value = await waiter
        if value is None:
            return None
        fetched_at, sealed = parse(value)
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], key.encode()), fetched_at
        except Exception:  # sealed under another key (rotated): treat as absent
            return None

    def _start(self, batch: Coroutine[None, None, None]) -> None:
        # The task runs on the loop's next turn, after every caller of this turn has queued.
        task = asyncio.get_running_loop().create_task(batch)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch_pending(self) -> None:
        batch, self._pending = self._pending, []
        try:
            values = await self.redis.mget([KEY_PREFIX + key for key, _ in batch])
        except Exception as exc:
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for (_, waiter), value in zip(batch, values, strict=True):
            if not waiter.done():  # its reader may have been cancelled by a deadline
                waiter.set_result(value)

    def put(self, key: str, payload: bytes, fetched_at: float, ttl_s: int) -> None:
        """Keep a copy, written in the background with the other copies of this turn.

        The answer does not wait for its copy: losing one costs a provincial call later,
        nothing more. :meth:`settle` waits for the writes still under way.
        """
        nonce = os.urandom(12)
        sealed = base64.b64encode(nonce + self._aead.encrypt(nonce, payload, key.encode())).decode()
        if not self._writes:
            self._start(self._write_pending())
        self._writes.append((KEY_PREFIX + key, compose(fetched_at, sealed), ttl_s))

    async def _write_pending(self) -> None:
        batch, self._writes = self._writes, []
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value, ttl_s in batch:
                    pipe.set(key, value, ex=ttl_s)
                await pipe.execute()
        except Exception as exc:
            log.warning("upstream_copy_not_kept", copies=len(batch), error_type=type(exc).__name__)

    async def settle(self) -> None:
        """Wait until every copy handed to :meth:`put` so far is in Redis (or given up)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)
