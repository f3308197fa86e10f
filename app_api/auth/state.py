"""Short-lived authentication state in Redis, read by key through redis-om.

Nothing here must survive a restart of Redis: losing it logs people out, nothing more.
Keys hold only hashes of secrets (codes and tokens), never the secrets themselves.
"""

from __future__ import annotations

from aredis_om import HashModel
from redis.asyncio import Redis


class OtpChallenge(HashModel, index=True):
    """The SMS code last sent to a phone. pk: keyed hash of the phone."""

    code_hash: str
    attempts: int = 0

    class Meta:
        global_key_prefix = "superapp"
        model_key_prefix = "otp"


class SessionFamily(HashModel, index=True):
    """One login and every token rotated from it. Revoking it ends them all."""

    account_kind: str
    account_id: str
    aal: int = 1
    revoked: int = 0

    class Meta:
        global_key_prefix = "superapp"
        model_key_prefix = "family"


class AccessToken(HashModel, index=True):
    """A 15-minute bearer token. pk: SHA-256 of the token."""

    family_id: str

    class Meta:
        global_key_prefix = "superapp"
        model_key_prefix = "access"


class RefreshToken(HashModel, index=True):
    """A refresh token; ``used`` marks it spent so that reuse can be detected. pk: SHA-256."""

    family_id: str
    used: int = 0

    class Meta:
        global_key_prefix = "superapp"
        model_key_prefix = "refresh"


MODELS: tuple[type[HashModel], ...] = (OtpChallenge, SessionFamily, AccessToken, RefreshToken)


def bind(redis: Redis) -> None:
    """Point every model at this process's Redis client."""
    for model in MODELS:
        model._meta.database = redis
