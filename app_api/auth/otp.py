"""SMS one-time codes: issue, throttle, verify, lock out."""

from __future__ import annotations

import hmac
import secrets

from aredis_om import NotFoundError

from app_api.auth.state import OtpChallenge
from app_api.errors import Problem
from app_api.kv import save_expiring
from app_api.services import Services
from integrations.sms import SmsError

CODE_TEMPLATE = "LOGIN_CODE"


async def _take(services: Services, key: str, limit: int, window_s: int) -> int | None:
    """Count one use of ``key`` in a fixed window; returns seconds to wait when over ``limit``."""
    redis = services.redis
    # The window starts with the key, in the same round trip: no crash leaves a counter
    # without an expiry (which would lock a phone out for good).
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_s, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
    if count > limit:
        ttl = await redis.ttl(key)
        return max(int(ttl), 1)
    return None


async def request_code(services: Services, phone: str, client_ip: str) -> None:
    """Send a fresh code to ``phone`` unless a throttle says wait. Raises :class:`Problem`."""
    cfg = services.settings
    redis = services.redis
    phone_key = services.keyed_hash("phone", phone)
    resend_key = f"superapp:otp-resend:{phone_key}"
    if cfg.otp_resend_interval_s and not await redis.set(
        resend_key, "1", nx=True, ex=cfg.otp_resend_interval_s
    ):
        wait = max(int(await redis.ttl(resend_key)), 1)
        raise Problem("otp_resend_too_soon", seconds=wait, headers={"Retry-After": str(wait)})
    counters = (
        (f"superapp:otp-hour:phone:{phone_key}", cfg.otp_per_phone_per_hour),
        (f"superapp:otp-hour:ip:{services.keyed_hash('ip', client_ip)}", cfg.otp_per_ip_per_hour),
    )
    taken: list[str] = []
    try:
        for key, limit in counters:
            taken.append(key)
            wait = await _take(services, key, limit, 3600)
            if wait is not None:
                raise Problem("rate_limited", seconds=wait, headers={"Retry-After": str(wait)})
        code = f"{secrets.randbelow(10**6):06d}"
        await services.sms.send(
            phone, CODE_TEMPLATE, {"code": code, "minutes": str(cfg.otp_ttl_s // 60)}
        )
    except (Problem, SmsError) as exc:
        # A refused or failed send must not count against the resident.
        await redis.delete(resend_key)
        for key in taken:
            await redis.decr(key)
        if isinstance(exc, SmsError):
            raise Problem("sms_unavailable") from exc
        raise
    challenge = OtpChallenge(pk=phone_key, code_hash=services.keyed_hash("otp", f"{phone}:{code}"))
    await save_expiring(challenge, cfg.otp_ttl_s)


async def verify_code(services: Services, phone: str, code: str) -> None:
    """Accept ``code`` once for ``phone`` or raise ``otp_*`` problems; wrong tries are counted."""
    cfg = services.settings
    phone_key = services.keyed_hash("phone", phone)
    try:
        challenge = await OtpChallenge.get(phone_key)
    except NotFoundError:
        raise Problem("otp_expired") from None
    if challenge.attempts >= cfg.otp_max_attempts:
        raise Problem("otp_locked")
    expected = services.keyed_hash("otp", f"{phone}:{code}")
    if hmac.compare_digest(expected, challenge.code_hash):
        # Single use even under concurrent logins: only one caller deletes the key.
        if await services.redis.delete(challenge.key()) == 1:
            return
        raise Problem("otp_expired")
    attempts = await services.redis.hincrby(challenge.key(), "attempts", 1)
    if await services.redis.ttl(challenge.key()) == -1:
        # The code expired between the read and the count: do not leave a key without TTL.
        await services.redis.delete(challenge.key())
        raise Problem("otp_expired")
    remaining = cfg.otp_max_attempts - int(attempts)
    if remaining <= 0:
        raise Problem("otp_locked")
    raise Problem("otp_invalid", remaining=remaining)
