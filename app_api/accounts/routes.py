"""/api/v1/me, /api/v1/profile and /api/v1/enterprises."""

from __future__ import annotations

from litestar import Request, Router, get, post, put

from app_api.accounts import service
from app_api.accounts.schemas import (
    EnterpriseProfile,
    IdentityBinding,
    IdentityCorrectionRequest,
    Profile,
    ResidentFound,
    ResidentSearch,
)
from app_api.auth import accounts
from app_api.auth.guards import client_ip
from app_api.auth.schemas import Account
from app_api.auth.sessions import Principal
from app_api.deps import AuditFn, audit_about
from app_api.errors import Problem
from app_api.identity.models import Enterprise, EnterpriseAdmin, Resident
from app_api.identity.numbers import NumberError, validate_credit_code, validate_phone
from app_api.services import Services
from app_api.writes import audited_write
from miniprograms.access import operator, resident, signed_in


@get("/me", opt={"access": signed_in()}, summary="The signed-in account")
async def me(principal: Principal) -> Account:
    return await accounts.describe(principal.kind, principal.account_id, principal.aal)


@get("/profile", opt={"access": resident(scope="view_profile")}, summary="A resident's profile")
async def read_profile(subject_id: str, services: Services, audit: AuditFn) -> Profile:
    resident = await Resident.get(id=subject_id)
    await audit("profile.read", f"resident:{subject_id}", "resident_service")
    return service.profile_of(resident, services.vault)


@put(
    "/profile/identity",
    opt={
        "access": resident(),
        "problems": (
            "id_number_invalid",
            "identity_mismatch",
            "identity_locked",
            "identity_already_bound",
            "identity_checks_exhausted",
            "upstream_unavailable",
        ),
    },
    summary="Bind a real name and ID number (实名认证), checked with the population registry",
)
async def bind_identity(
    data: IdentityBinding,
    request: Request,
    principal: Principal,
    services: Services,
    audit: AuditFn,
) -> Profile:
    resident = await Resident.get(id=principal.account_id)
    await service.bind_identity(
        services,
        resident,
        data.name,
        data.id_number,
        client_ip=client_ip(request),
        audit=audit,
        write=lambda: audited_write(request),
    )
    return service.profile_of(resident, services.vault)


@post(
    "/admin/residents/search",
    opt={"access": operator("reviewer"), "problems": ("phone_invalid", "not_found")},
    status_code=200,
    summary="Find a resident by phone (reviewers, to correct a record)",
)
async def find_resident(data: ResidentSearch, request: Request) -> ResidentFound:
    try:
        phone = validate_phone(data.phone)
    except NumberError as exc:
        raise Problem(exc.code) from None
    resident = await Resident.get_or_none(phone=phone)
    if resident is None:
        raise Problem("not_found")
    audit = audit_about(request, str(resident.id))
    await audit("resident.find", f"resident:{resident.id}", service.CORRECTION_PURPOSE)
    return service.found(resident)


@put(
    "/admin/residents/{resident_id:str}/identity",
    opt={
        "access": operator("reviewer"),
        "problems": (
            "not_found",
            "id_number_invalid",
            "identity_mismatch",
            "identity_already_bound",
            "upstream_unavailable",
        ),
    },
    summary="Correct a resident's real name and ID number (reviewers, with a reason)",
)
async def correct_identity(
    resident_id: str,
    data: IdentityCorrectionRequest,
    request: Request,
    principal: Principal,
    services: Services,
) -> Profile:
    resident = await service.correct_identity(
        services,
        resident_id,
        data.name,
        data.id_number,
        data.reason,
        operator_id=principal.account_id,
        audit=audit_about(request, resident_id),
        write=lambda: audited_write(request, subject_id=resident_id),
    )
    return service.profile_of(resident, services.vault)


@get(
    "/enterprises/{credit_code:str}",
    opt={"access": resident(aal=2), "problems": ("credit_code_invalid",)},
    summary="An enterprise's profile, for its administrators",
)
async def read_enterprise(
    credit_code: str, principal: Principal, audit: AuditFn
) -> EnterpriseProfile:
    try:
        code = validate_credit_code(credit_code)
    except NumberError as exc:
        raise Problem(exc.code) from None
    enterprise = await Enterprise.get_or_none(credit_code=code)
    if enterprise is None or not await EnterpriseAdmin.exists(
        enterprise_id=enterprise.id, resident_id=principal.account_id
    ):
        raise Problem("forbidden")
    await audit("enterprise.read", f"enterprise:{code}", "enterprise_service")
    return service.enterprise_profile(enterprise)


router = Router(
    path="/api/v1",
    route_handlers=[
        me,
        read_profile,
        bind_identity,
        find_resident,
        correct_identity,
        read_enterprise,
    ],
    tags=["account"],
)
