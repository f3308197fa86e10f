"""Request signing shared by our outbound clients and the sandbox that checks them.

Signature = hex HMAC-SHA256 over method, path, sorted query, timestamp, nonce and the
SHA-256 of the body, one per line. Sent as ``X-App-Id``, ``X-Timestamp``, ``X-Nonce``,
``X-Signature``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from urllib.parse import quote

MAX_SKEW_S = 300


def canonical(
    method: str, path: str, query: Mapping[str, str], timestamp: str, nonce: str, body: bytes
) -> bytes:
    """The exact bytes that are signed."""
    sorted_query = "&".join(
        f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in sorted(query.items())
    )
    parts = [method.upper(), path, sorted_query, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    return "\n".join(parts).encode()


def sign(
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    timestamp: str,
    nonce: str,
    body: bytes,
) -> str:
    return hmac.new(
        secret.encode(), canonical(method, path, query, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def signed_headers(
    app_id: str, secret: str, method: str, path: str, query: Mapping[str, str], body: bytes
) -> dict[str, str]:
    """Headers for one outbound request, with a fresh timestamp and nonce."""
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        "X-App-Id": app_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": sign(secret, method, path, query, timestamp, nonce, body),
    }


def verify(
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    timestamp: str,
    nonce: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
) -> str | None:
    """Check one request; returns ``None`` when valid, else the reason (``skew``, ``signature``)."""
    try:
        skew = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return "skew"
    if skew > MAX_SKEW_S:
        return "skew"
    expected = sign(secret, method, path, query, timestamp, nonce, body)
    if not hmac.compare_digest(expected, signature or ""):
        return "signature"
    return None


def verify_headers(
    app_id: str,
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> str | None:
    """Check a request signed by :func:`signed_headers` as the one caller ``app_id``.

    For inbound calls from a partner that signs like we do (the SMS gateway's delivery
    receipts): bind ``app_id`` and ``secret`` with ``functools.partial`` and hand the rest
    to whoever parses the call. Returns ``None`` when valid, else the reason (``app_id``,
    ``skew``, ``signature``). Header names are matched case-insensitively, so a plain dict
    works as well as a framework's header mapping. Nonces are not remembered here: what
    such calls carry must be safe to apply twice (a receipt is).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if not hmac.compare_digest(lowered.get("x-app-id", "").encode(), app_id.encode()):
        return "app_id"
    if not lowered.get("x-signature", "").isascii():  # compare_digest refuses non-ASCII str
        return "signature"
    return verify(
        secret,
        method,
        path,
        query,
        lowered.get("x-timestamp", ""),
        lowered.get("x-nonce", ""),
        body,
        lowered.get("x-signature", ""),
        now=now,
    )
