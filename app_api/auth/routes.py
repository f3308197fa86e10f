"""/api/v1/auth: SMS login, token refresh, logout, and the TOTP second factor."""

from __future__ import annotations

import msgspec
from litestar import Request, Router, post
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app_api import ratelimit
from app_api.audit.chain import AuditEntry
from app_api.auth import accounts, otp, sessions, totp
from app_api.auth.guards import client_ip
from app_api.auth.schemas import (
    Assurance,
    LoginRequest,
    LoginResult,
    OtpRequest,
    OtpSent,
    RecoveryCodes,
    RefreshRequest,
    TotpCode,
    TotpEnrolment,
    TotpVerify,
)
from app_api.auth.sessions import Principal
from app_api.errors import Problem
from app_api.identity.numbers import NumberError, validate_phone
from app_api.services import Services
from miniprograms.access import public, signed_in
from notifications.models import Device

PUBLIC = public()
SIGNED_IN = signed_in()


async def _throttle_address(services: Services, request: Request, what: str, limit: int) -> None:
    """Count one attempt from this client address; past ``limit`` an hour, wait."""
    key = f"superapp:{what}-ip:{services.keyed_hash('ip', client_ip(request))}"
    wait = await ratelimit.take(services.redis, key, limit, 3600)
    if wait is not None:
        raise Problem("rate_limited", seconds=wait, headers={"Retry-After": str(wait)})


def _phone(raw: str) -> str:
    try:
        return validate_phone(raw)
    except NumberError as exc:
        raise Problem(exc.code) from None


@post(
    "/otp",
    opt={
        "access": PUBLIC,
        "problems": ("phone_invalid", "otp_resend_too_soon", "rate_limited", "sms_unavailable"),
    },
    status_code=HTTP_202_ACCEPTED,
    summary="Send a login code by SMS",
)
async def send_code(data: OtpRequest, request: Request, services: Services) -> OtpSent:
    await otp.request_code(services, _phone(data.phone), client_ip(request))
    cfg = services.settings
    return OtpSent(expires_in=cfg.otp_ttl_s, resend_after=cfg.otp_resend_interval_s)


@post(
    "/login",
    opt={
        "access": PUBLIC,
        "problems": (
            "phone_invalid",
            "rate_limited",
            "otp_invalid",
            "otp_expired",
            "otp_locked",
            "forbidden",
            "conflict",
        ),
    },
    status_code=200,
    summary="Sign in with phone and SMS code",
)
async def login(data: LoginRequest, request: Request, services: Services) -> LoginResult:
    phone = _phone(data.phone)
    await _throttle_address(services, request, "login", services.settings.login_per_ip_per_hour)
    # The code is judged before the account is looked up: without the right code, an
    # operator's phone and anyone else's get the same answer.
    if data.portal == "operator":
        kind = "operator"
        found = await otp.verify_code(
            services, phone, data.code, lambda: accounts.operator_for_login(phone)
        )
    else:
        kind = "resident"
        found = await otp.verify_code(
            services, phone, data.code, lambda: accounts.resident_for_login(phone)
        )
    account_id = str(found.id)
    pair, _ = await sessions.start(services, kind, account_id)
    await services.audit.append(
        AuditEntry(
            actor_kind=kind,
            actor_id=account_id,
            subject_id=account_id,
            action="auth.login",
            resource=f"{kind}:{account_id}",
            purpose="authentication",
            ip=client_ip(request),
        )
    )
    account = await accounts.describe(kind, account_id, aal=1)
    return LoginResult(**msgspec.structs.asdict(pair), account=account)


@post(
    "/refresh",
    opt={"access": PUBLIC, "problems": ("token_invalid", "refresh_reused")},
    status_code=200,
    summary="Swap a refresh token for a new pair",
)
async def refresh(data: RefreshRequest, services: Services) -> LoginResult:
    pair, principal = await sessions.rotate(services, data.refresh_token)
    account = await accounts.describe(principal.kind, principal.account_id, aal=principal.aal)
    return LoginResult(**msgspec.structs.asdict(pair), account=account)


@post(
    "/logout",
    opt={"access": SIGNED_IN},
    status_code=HTTP_204_NO_CONTENT,
    summary="End this session everywhere it was refreshed",
)
async def logout(principal: Principal, services: Services) -> None:
    await sessions.revoke(services, principal.family_id)
    # A signed-out phone stops receiving pushes: they may be read by whoever holds it next.
    await Device.filter(session_family=principal.family_id).delete()


@post(
    "/totp/enrolment",
    opt={"access": SIGNED_IN, "problems": ("totp_already_enrolled",)},
    status_code=200,
    summary="Start setting up an authenticator app",
)
async def totp_enrol(principal: Principal, services: Services) -> TotpEnrolment:
    label = await accounts.label_for(principal.kind, principal.account_id)
    enrolment = await totp.enrol(services, principal.kind, principal.account_id, label)
    return TotpEnrolment(
        otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg, secret=enrolment.secret
    )


@post(
    "/totp/confirmation",
    opt={
        "access": SIGNED_IN,
        "problems": ("totp_invalid", "totp_locked", "totp_not_enrolled", "totp_already_enrolled"),
    },
    status_code=200,
    summary="Confirm the authenticator with a first code",
)
async def totp_confirm(data: TotpCode, principal: Principal, services: Services) -> RecoveryCodes:
    codes = await totp.confirm(services, principal.kind, principal.account_id, data.code)
    await sessions.raise_assurance(services, principal.family_id, 2)
    return RecoveryCodes(recovery_codes=codes, aal=2)


@post(
    "/totp/verification",
    # validation_failed: neither a code nor a recovery code.
    opt={
        "access": SIGNED_IN,
        "problems": (
            "validation_failed",
            "totp_invalid",
            "totp_locked",
            "rate_limited",
            "totp_not_enrolled",
        ),
    },
    status_code=200,
    summary="Pass the second factor for this session",
)
async def totp_verify(
    data: TotpVerify, principal: Principal, request: Request, services: Services
) -> Assurance:
    if not data.code and not data.recovery_code:
        raise Problem("validation_failed")
    await _throttle_address(services, request, "totp", services.settings.totp_per_ip_per_hour)
    method = await totp.verify(
        services,
        principal.kind,
        principal.account_id,
        code=data.code,
        recovery_code=data.recovery_code,
    )
    await sessions.raise_assurance(services, principal.family_id, 2)
    left = await totp.remaining_recovery_codes(principal.kind, principal.account_id)
    return Assurance(aal=2, method=method, recovery_codes_left=left)


router = Router(
    path="/api/v1/auth",
    route_handlers=[send_code, login, refresh, logout, totp_enrol, totp_confirm, totp_verify],
    tags=["auth"],
)
