"""Signature, clock-skew and replay checks, answered with the gateway's own envelope."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import msgspec
from aiohttp import web

from integrations.signing import MAX_SKEW_S, verify


def gateway_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


class SignatureGuard:
    """Knows each caller's secret by app id and remembers nonces for the skew window."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self._secrets = secrets
        # Nonces seen within the window, oldest first, so forgetting them is cheap.
        self._nonces: set[str] = set()
        self._seen: deque[tuple[float, str]] = deque()

    async def check(self, request: web.Request) -> Any:
        """Return the decoded JSON body of a correctly signed request or raise an HTTP error."""
        body = await request.read()
        headers = request.headers
        secret = self._secrets.get(headers.get("X-App-Id", ""))
        if secret is None:
            raise _reject(401, "UNKNOWN_APP", "unknown app id")
        nonce = headers.get("X-Nonce", "")
        reason = verify(
            secret,
            request.method,
            request.path,
            dict(request.query),
            headers.get("X-Timestamp", ""),
            nonce,
            body,
            headers.get("X-Signature", ""),
        )
        if reason == "skew":
            raise _reject(401, "TIMESTAMP_EXPIRED", "timestamp outside the allowed window")
        if reason == "signature":
            raise _reject(401, "SIGNATURE_INVALID", "signature does not match")
        now = time.time()
        while self._seen and now - self._seen[0][0] >= 2 * MAX_SKEW_S:
            self._nonces.discard(self._seen.popleft()[1])
        if not nonce or nonce in self._nonces:
            raise _reject(401, "NONCE_REPLAYED", "nonce already used")
        self._nonces.add(nonce)
        self._seen.append((now, nonce))
        if not body:
            return None
        try:
            return msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise _reject(400, "INVALID_PARAMETER", "body is not JSON") from None


def _reject(status: int, code: str, message: str) -> web.HTTPException:
    exc_type = web.HTTPUnauthorized if status == 401 else web.HTTPBadRequest
    return exc_type(
        text=msgspec.json.encode({"code": code, "message": message}).decode(),
        content_type="application/json",
    )
