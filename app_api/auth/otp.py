"""SMS one-time codes: issue, throttle, verify, lock out."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app_api import ratelimit
from app_api.auth.state import OtpChallenge
from app_api.errors import Problem
from app_api.kv import save_expiring
from app_api.services import Services
from integrations.sms import SmsError

CODE_TEMPLATE = "LOGIN_CODE"
T = TypeVar("T")


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
            wait = await ratelimit.take(redis, key, limit, 3600)
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
            await ratelimit.give_back(redis, key)
        if isinstance(exc, SmsError):
            raise Problem("sms_unavailable") from exc
        raise
    challenge = OtpChallenge(pk=phone_key, code_hash=services.keyed_hash("otp", f"{phone}:{code}"))
    await save_expiring(challenge, cfg.otp_ttl_s)


# Count the guess before judging it, in one step: of forty concurrent guesses only the
# first ``otp_max_attempts`` are ever compared with the code. Returns nil when there is
# no code, else the count including this guess and the code's hash.
_SPEND_GUESS = """
if redis.call('exists', KEYS[1]) == 0 then return false end
local n = redis.call('hincrby', KEYS[1], 'attempts', 1)
return {n, redis.call('hget', KEYS[1], 'code_hash')}
"""


async def verify_code(
    services: Services, phone: str, code: str, account: Callable[[], Awaitable[T]]
) -> T:
    """Accept ``code`` once for ``phone`` or raise ``otp_*`` problems; every guess is counted.

    ``account`` finds the account signing in, once the code is known to be right and before
    it is spent: a refusal there (a resident at the operator portal) leaves the code usable,
    and without the right code no one learns whether the phone has an account.
    """
    cfg = services.settings
    key = OtpChallenge.make_primary_key(services.keyed_hash("phone", phone))
    spent = await services.redis.eval(_SPEND_GUESS, 1, key)
    if not spent:
        raise Problem("otp_expired")
    attempts, code_hash = int(spent[0]), spent[1]
    if isinstance(code_hash, bytes):
        code_hash = code_hash.decode()
    if attempts > cfg.otp_max_attempts:
        raise Problem("otp_locked")
    expected = services.keyed_hash("otp", f"{phone}:{code}")
    if hmac.compare_digest(expected, code_hash):
        found = await account()
        # Single use even under concurrent logins: only one caller deletes the key.
        if await services.redis.delete(key) == 1:
            return found
        raise Problem("otp_expired")
    remaining = cfg.otp_max_attempts - attempts
    if remaining <= 0:
        raise Problem("otp_locked")
    raise Problem("otp_invalid", remaining=remaining)
