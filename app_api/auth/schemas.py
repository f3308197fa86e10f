"""Bodies of the authentication endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from app_api.schemas import Body, Out

Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=20, examples=["13800000001"])]
SixDigits = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", examples=["123456"])]


class OtpRequest(Body):
    phone: Phone


class OtpSent(Out):
    expires_in: int
    resend_after: int


class LoginRequest(Body):
    phone: Phone
    code: SixDigits
    portal: Literal["resident", "operator"] = "resident"


class RefreshRequest(Body):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EnterpriseRef(Out):
    credit_code: str
    name: str


class Account(Out):
    id: str
    kind: Literal["resident", "operator"]
    phone: str
    name: str | None
    real_name_verified: bool
    roles: list[str]
    aal: int
    mfa_enrolled: bool
    enterprises: list[EnterpriseRef]
    locale: str


class LoginResult(Out):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str
    account: Account


class TotpEnrolment(Out):
    otpauth_uri: str
    qr_svg: str
    secret: str


class TotpCode(Body):
    code: SixDigits


class TotpVerify(Body):
    code: SixDigits | None = None
    recovery_code: Annotated[str, msgspec.Meta(min_length=10, max_length=16)] | None = None


class RecoveryCodes(Out):
    recovery_codes: list[str]
    aal: int


class Assurance(Out):
    aal: int
    method: str
    recovery_codes_left: int
