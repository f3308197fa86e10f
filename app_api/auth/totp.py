"""TOTP second factor (RFC 6238) with one-time recovery codes.

Secrets are sealed at rest; recovery codes are stored only as keyed hashes. A code is
accepted once: the time step it matched is remembered, so a shoulder-surfed code cannot
be replayed within its 30-second window.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import msgspec
import pyotp
import segno
from tortoise.transactions import in_transaction

from app_api import ratelimit
from app_api.errors import Problem
from app_api.identity.models import RecoveryCode, TotpFactor
from app_api.services import Services

RECOVERY_CODES = 10
_CONTEXT = "totp_factor.secret"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class Enrolment(msgspec.Struct, kw_only=True):
    otpauth_uri: str
    qr_svg: str
    secret: str


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalize_recovery(code: str) -> str:
    raw = code.strip().lower().replace(" ", "").replace("-", "")
    return f"{raw[:5]}-{raw[5:]}"


async def _factor(kind: str, account_id: str) -> TotpFactor | None:
    return await TotpFactor.get_or_none(account_kind=kind, account_id=account_id)


async def is_enrolled(kind: str, account_id: str) -> bool:
    factor = await _factor(kind, account_id)
    return bool(factor and factor.confirmed_at)


async def enrol(services: Services, kind: str, account_id: str, label: str) -> Enrolment:
    """Start (or restart) enrolment; the factor counts only once confirmed."""
    factor = await _factor(kind, account_id)
    if factor and factor.confirmed_at:
        raise Problem("totp_already_enrolled")
    secret = pyotp.random_base32()
    sealed = services.vault.seal(secret, context=_CONTEXT)
    if factor:
        factor.secret_sealed = sealed
        await factor.save(update_fields=["secret_sealed"])
    else:
        await TotpFactor.create(account_kind=kind, account_id=account_id, secret_sealed=sealed)
    uri = pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=services.settings.totp_issuer)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return Enrolment(otpauth_uri=uri, qr_svg=svg, secret=secret)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    step = int(now) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code.strip()):
            return candidate
    return None


async def _accept_totp(services: Services, factor: TotpFactor, code: str) -> None:
    secret = services.vault.open(factor.secret_sealed, context=_CONTEXT)
    step = _matching_step(secret, code, time.time())
    if step is None:
        raise Problem("totp_invalid")
    # Compare-and-set on the last used step: a replayed or older code is refused.
    updated = await TotpFactor.filter(id=factor.id, last_used_step__lt=step).update(
        last_used_step=step
    )
    if updated != 1:
        raise _Replayed("totp_invalid")


class _Replayed(Problem):
    """A right code whose time step was already used: the same answer as a wrong code, but
    no guess (a double-tapped submit must not bring the lock closer)."""


@asynccontextmanager
async def _guess(services: Services, kind: str, account_id: str) -> AsyncIterator[None]:
    """Count a second-factor guess before it is judged; lock the factor after too many.

    The count is taken first and atomically, so sixty codes sent at once still have only
    ``totp_max_failures`` of them checked. A right code clears the count; the fifth wrong
    one locks the factor for ``totp_lock_s`` from that moment (TOTP, recovery codes and
    enrolment confirmation alike).
    """
    cfg = services.settings
    redis = services.redis
    key = f"superapp:totp-fail:{services.keyed_hash('account', f'{kind}:{account_id}')}"
    place, wait = await ratelimit.count(redis, key, cfg.totp_lock_s)
    if place > cfg.totp_max_failures:
        raise _locked(wait)
    try:
        yield
    except Problem as exc:
        if exc.code != "totp_invalid" or isinstance(exc, _Replayed):
            await ratelimit.give_back(redis, key)
            raise
        if place == cfg.totp_max_failures:
            # The lock runs from the last allowed mistake, not from the first.
            await redis.expire(key, cfg.totp_lock_s)
            raise _locked(cfg.totp_lock_s) from None
        raise
    except BaseException:
        await ratelimit.give_back(redis, key)
        raise
    await redis.delete(key)


def _locked(wait_s: int) -> Problem:
    return Problem("totp_locked", minutes=-(-wait_s // 60), headers={"Retry-After": str(wait_s)})


async def confirm(services: Services, kind: str, account_id: str, code: str) -> list[str]:
    """Confirm enrolment with a first code; returns the recovery codes (shown once)."""
    async with _guess(services, kind, account_id):
        return await _confirm(services, kind, account_id, code)


async def _confirm(services: Services, kind: str, account_id: str, code: str) -> list[str]:
    factor = await _factor(kind, account_id)
    if factor is None:
        raise Problem("totp_not_enrolled")
    if factor.confirmed_at:
        raise Problem("totp_already_enrolled")
    await _accept_totp(services, factor, code)
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    async with in_transaction():
        await TotpFactor.filter(id=factor.id).update(confirmed_at=datetime.now(UTC))
        await RecoveryCode.filter(factor_id=factor.id).delete()
        await RecoveryCode.bulk_create(
            [
                RecoveryCode(factor_id=factor.id, code_hash=services.keyed_hash("recovery", c))
                for c in codes
            ]
        )
    return codes


async def verify(
    services: Services, kind: str, account_id: str, *, code: str | None, recovery_code: str | None
) -> str:
    """Check a TOTP code or spend a recovery code; returns which one was used."""
    async with _guess(services, kind, account_id):
        return await _verify(services, kind, account_id, code=code, recovery_code=recovery_code)


async def _verify(
    services: Services, kind: str, account_id: str, *, code: str | None, recovery_code: str | None
) -> str:
    factor = await _factor(kind, account_id)
    if factor is None or not factor.confirmed_at:
        raise Problem("totp_not_enrolled")
    if code:
        await _accept_totp(services, factor, code)
        return "totp"
    if recovery_code:
        digest = services.keyed_hash("recovery", _normalize_recovery(recovery_code))
        spent = await RecoveryCode.filter(
            factor_id=factor.id, code_hash=digest, used_at__isnull=True
        ).update(used_at=datetime.now(UTC))
        if spent == 1:
            return "recovery_code"
    raise Problem("totp_invalid")


async def remaining_recovery_codes(factor_kind: str, account_id: str) -> int:
    factor = await _factor(factor_kind, account_id)
    if factor is None:
        return 0
    return await RecoveryCode.filter(factor_id=factor.id, used_at__isnull=True).count()
