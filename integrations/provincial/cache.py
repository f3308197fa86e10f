"""Copies of upstream answers in Redis, sealed, for freshness and for stale-on-error.

Keys are keyed hashes of (upstream, path, query), so no ID number appears in a key; values
are AES-GCM sealed, so a Redis dump does not leak personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from aredis_om import HashModel, NotFoundError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis


class UpstreamEntry(HashModel, index=True):
    """One cached upstream answer. pk: keyed hash of the request."""

    sealed: str
    fetched_at: float  # unix seconds

    class Meta:
        global_key_prefix = "superapp"
        model_key_prefix = "upstream"


class ResponseCache:
    def __init__(self, redis: Redis, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("cache key must be 32 bytes")
        UpstreamEntry._meta.database = redis
        self._aead = AESGCM(key)
        self._index_key = hashlib.sha256(b"upstream-index" + key).digest()

    def key_of(self, upstream: str, path: str, query: Mapping[str, str]) -> str:
        canonical = "\n".join([upstream, path, *(f"{k}={v}" for k, v in sorted(query.items()))])
        return hmac.new(self._index_key, canonical.encode(), hashlib.sha256).hexdigest()

    async def get(self, key: str) -> tuple[bytes, float] | None:
        try:
            entry = await UpstreamEntry.get(key)
        except NotFoundError:
            return None
        raw = base64.b64decode(entry.sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], key.encode()), entry.fetched_at
        except Exception:  # sealed under another key (rotated): treat as absent
            return None

    async def put(self, key: str, payload: bytes, fetched_at: float, ttl_s: int) -> None:
        nonce = os.urandom(12)
        sealed = base64.b64encode(nonce + self._aead.encrypt(nonce, payload, key.encode())).decode()
        entry = UpstreamEntry(pk=key, sealed=sealed, fetched_at=fetched_at)
        await entry.save()
        await entry.expire(ttl_s)
