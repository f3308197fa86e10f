"""Sessions: opaque bearer tokens in Redis, refresh rotation and family revocation.

A login opens a *family*. Each refresh spends the presented refresh token and issues a
new pair in the same family; presenting a spent refresh token again means it was copied,
so the whole family is revoked (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14).
"""

from __future__ import annotations

import hashlib
import secrets

import msgspec
from aredis_om import NotFoundError

from app_api.auth.state import AccessToken, RefreshToken, SessionFamily
from app_api.errors import Problem
from app_api.kv import save_expiring
from app_api.services import Services


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, as established by their access token."""

    kind: str  # "resident" or "operator"
    account_id: str
    family_id: str
    aal: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue(services: Services, family: SessionFamily) -> TokenPair:
    cfg = services.settings
    # The access token names its family, so that checking it is one round trip (the token
    # row and the family together); the digest still covers the whole token.
    access = f"{family.pk}.{secrets.token_urlsafe(32)}"
    refresh = secrets.token_urlsafe(48)
    await save_expiring(AccessToken(pk=_digest(access), family_id=family.pk), cfg.access_ttl_s)
    await save_expiring(RefreshToken(pk=_digest(refresh), family_id=family.pk), cfg.refresh_ttl_s)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=cfg.access_ttl_s)


async def start(
    services: Services, kind: str, account_id: str, *, aal: int = 1
) -> tuple[TokenPair, str]:
    """Open a new session family; returns the first token pair and the family id."""
    family = SessionFamily(
        pk=secrets.token_hex(16), account_kind=kind, account_id=account_id, aal=aal
    )
    await save_expiring(family, services.settings.refresh_ttl_s)
    return await _issue(services, family), family.pk


async def _live_family(family_id: str) -> SessionFamily | None:
    try:
        family = await SessionFamily.get(family_id)
    except NotFoundError:
        return None
    return None if family.revoked else family


async def authenticate(services: Services, access_token: str) -> Principal | None:
    """The principal behind a bearer token, or ``None`` if it is unknown, expired or revoked."""
    family_id, dot, _ = access_token.partition(".")
    if not dot:
        return None
    # Every request passes here: both hashes in one pipeline, read as the plain hashes
    # redis-om keeps (its ``get`` costs a round trip and a pydantic validation each).
    async with services.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(AccessToken.make_primary_key(_digest(access_token)))
        pipe.hgetall(SessionFamily.make_primary_key(family_id))
        token, family = await pipe.execute()
    if token.get("family_id") != family_id or not family or family.get("revoked") != "0":
        return None
    return Principal(
        kind=family["account_kind"],
        account_id=family["account_id"],
        family_id=family_id,
        aal=int(family["aal"]),
    )


async def rotate(services: Services, refresh_token: str) -> tuple[TokenPair, Principal]:
    """Spend ``refresh_token`` and issue the next pair; reuse revokes the whole family."""
    try:
        row = await RefreshToken.get(_digest(refresh_token))
    except NotFoundError:
        raise Problem("token_invalid") from None
    # Atomic: of two concurrent uses exactly one sees 1.
    uses = await services.redis.hincrby(row.key(), "used", 1)
    family = await _live_family(row.family_id)
    if family is None:
        raise Problem("token_invalid")
    if uses > 1:
        await revoke(services, row.family_id)
        raise Problem("refresh_reused")
    pair = await _issue(services, family)
    principal = Principal(
        kind=family.account_kind, account_id=family.account_id, family_id=family.pk, aal=family.aal
    )
    return pair, principal


# Each writes one field of a family that still exists, in one step: a whole-record save
# from a step-up that read the family before a logout would bring the revoked session
# back, and a write to an expired key would recreate it without an expiry.
_REVOKE = (
    "if redis.call('exists', KEYS[1]) == 1 then redis.call('hset', KEYS[1], 'revoked', '1') end"
)
_RAISE = """
if redis.call('hget', KEYS[1], 'revoked') ~= '0' then return 0 end
if tonumber(redis.call('hget', KEYS[1], 'aal')) >= tonumber(ARGV[1]) then return 0 end
redis.call('hset', KEYS[1], 'aal', ARGV[1])
return 1
"""


async def revoke(services: Services, family_id: str) -> None:
    """End a session family: every access and refresh token of it stops working."""
    await services.redis.eval(_REVOKE, 1, SessionFamily.make_primary_key(family_id))


async def raise_assurance(services: Services, family_id: str, aal: int) -> None:
    """Record that this live session passed a second factor; a revoked one stays revoked."""
    await services.redis.eval(_RAISE, 1, SessionFamily.make_primary_key(family_id), aal)
