"""Encryption at rest and blind indexes for personal numbers.

Each value is sealed with AES-256-GCM under a key derived from ``SUPERAPP_PII_KEY``; the
column name is bound as associated data so a ciphertext cannot be moved to another column.
Lookups use an HMAC of the normalized value under a second derived key (a blind index), so
the database never holds a searchable plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class PiiVault:
    """Seals, opens and indexes personal numbers."""

    def __init__(self, master_key_b64: str) -> None:
        master = base64.b64decode(master_key_b64)
        if len(master) < 32:
            raise ValueError("SUPERAPP_PII_KEY must decode to at least 32 bytes")
        self._aead = AESGCM(_derive(master, b"superapp/pii/encrypt"))
        self._index_key = _derive(master, b"superapp/pii/index")
        self._master = master

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for another use of personal data (e.g. sealing the upstream cache)."""
        return _derive(self._master, f"superapp/{purpose}".encode())

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, context: str) -> str:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def index(self, value: str, *, context: str) -> str:
        mac = hmac.new(self._index_key, f"{context}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()
