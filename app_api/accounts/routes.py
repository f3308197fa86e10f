"""/api/v1/me, /api/v1/profile and /api/v1/enterprises."""

from __future__ import annotations

from litestar import Router, get, put

from app_api.accounts import service
from app_api.accounts.schemas import EnterpriseProfile, IdentityBinding, Profile
from app_api.auth import accounts
from app_api.auth.schemas import Account
from app_api.auth.sessions import Principal
from app_api.deps import AuditFn
from app_api.errors import Problem
from app_api.identity.models import Enterprise, EnterpriseAdmin, Resident
from app_api.identity.numbers import NumberError, validate_credit_code
from app_api.services import Services


@get("/me", summary="The signed-in account")
async def me(principal: Principal) -> Account:
    return await accounts.describe(principal.kind, principal.account_id, principal.aal)


@get("/profile", opt={"kind": "resident", "scope": "view_profile"}, summary="A resident's profile")
async def read_profile(subject_id: str, services: Services, audit: AuditFn) -> Profile:
    resident = await Resident.get(id=subject_id)
    await audit("profile.read", f"resident:{subject_id}", "resident_service")
    return service.profile_of(resident, services.vault)


@put(
    "/profile/identity",
    opt={"kind": "resident"},
    summary="Bind a real name and ID number (实名认证)",
)
async def bind_identity(
    data: IdentityBinding, principal: Principal, services: Services, audit: AuditFn
) -> Profile:
    resident = await Resident.get(id=principal.account_id)
    await service.bind_identity(resident, services.vault, data.name, data.id_number)
    await audit("identity.bind", f"resident:{resident.id}", "real_name_verification")
    return service.profile_of(resident, services.vault)


@get(
    "/enterprises/{credit_code:str}",
    opt={"kind": "resident", "aal": 2},
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
    route_handlers=[me, read_profile, bind_identity, read_enterprise],
    tags=["account"],
)
