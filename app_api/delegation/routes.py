"""/api/v1/delegations."""

from __future__ import annotations

from litestar import Request, Router, delete, get, post

from app_api import ratelimit
from app_api.auth.sessions import Principal
from app_api.delegation import service
from app_api.delegation.schemas import DelegationList, DelegationOut, DelegationRequest, ScopeOut
from app_api.delegation.scopes import grantable
from app_api.errors import Problem
from app_api.identity.models import Delegation
from app_api.services import Services
from app_api.writes import audited_write
from locales import gettext
from miniprograms.access import resident

RESIDENT = resident()


@get("/scopes", opt={"access": RESIDENT}, summary="Permissions a resident can grant")
async def list_scopes() -> list[ScopeOut]:
    return [ScopeOut(scope=s, label=gettext(label)) for s, label in grantable().items()]


@post(
    "/",
    opt={"access": RESIDENT, "problems": ("phone_invalid", "delegation_invalid", "rate_limited")},
    status_code=201,
    summary="Let a relative act for me (亲情代办)",
)
async def grant(
    data: DelegationRequest, principal: Principal, request: Request, services: Services
) -> DelegationOut:
    # Each grant to a new phone opens an account for it: a day's grants are bounded.
    key = f"superapp:delegations:{services.keyed_hash('account', principal.account_id)}"
    limit = services.settings.delegations_per_account_per_day
    wait = await ratelimit.take(services.redis, key, limit, 24 * 3600)
    if wait is not None:
        raise Problem("rate_limited", seconds=wait, headers={"Retry-After": str(wait)})
    async with audited_write(request) as audit:
        row = await service.grant(principal.account_id, data)
        await audit("delegation.grant", f"delegation:{row.id}", "family_proxy")
    return await service.describe(row)


@get("/", opt={"access": RESIDENT}, summary="Delegations I granted and received")
async def list_delegations(principal: Principal) -> DelegationList:
    granted = await Delegation.filter(grantor_id=principal.account_id).order_by("-created_at")
    received = await Delegation.filter(grantee_id=principal.account_id).order_by("-created_at")
    return DelegationList(
        granted=[await service.describe(r) for r in granted],
        received=[await service.describe(r) for r in received],
    )


@delete(
    "/{delegation_id:str}",
    opt={"access": RESIDENT, "problems": ("not_found",)},
    status_code=200,
    summary="End a delegation",
)
async def revoke(delegation_id: str, principal: Principal, request: Request) -> DelegationOut:
    async with audited_write(request) as audit:
        row = await service.revoke(principal.account_id, delegation_id)
        await audit("delegation.revoke", f"delegation:{row.id}", "family_proxy")
    return await service.describe(row)


router = Router(
    path="/api/v1/delegations",
    route_handlers=[list_scopes, grant, list_delegations, revoke],
    tags=["delegation"],
)
