"""Granting, listing and revoking delegations, free of HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app_api.delegation.schemas import DelegationOut, DelegationRequest, ScopeOut
from app_api.delegation.scopes import grantable
from app_api.errors import Problem
from app_api.identity.models import Delegation, Resident
from app_api.identity.numbers import NumberError, mask_name, mask_phone, validate_phone
from locales import gettext
from miniprograms.common import path_id


async def grant(grantor_id: str, request: DelegationRequest) -> Delegation:
    """Let the relative with ``relative_phone`` act for the grantor within the scopes.

    Call inside the request's transaction: the relative's account and the grant land together.
    """
    try:
        phone = validate_phone(request.relative_phone)
    except NumberError as exc:
        raise Problem(exc.code) from None
    known = grantable()
    scopes = sorted(set(request.scopes))
    if any(scope not in known for scope in scopes):
        raise Problem("delegation_invalid")
    # A relative who has not signed in yet gets an account (a phone is an account) that the
    # delegation waits in: the answer is the same whether or not the phone was known, so
    # this is no way to find out who uses the app.
    grantee, _ = await Resident.get_or_create(phone=phone)
    if str(grantee.id) == grantor_id:
        raise Problem("delegation_invalid")
    return await Delegation.create(
        id=uuid.uuid4(),
        grantor_id=grantor_id,
        grantee_id=grantee.id,
        scopes=scopes,
        relationship=request.relationship,
        expires_at=datetime.now(UTC) + timedelta(days=request.days),
    )


async def revoke(resident_id: str, delegation_id: str) -> Delegation:
    """Either side may end a delegation at any time; ending it twice is harmless."""
    key = path_id(delegation_id)
    row = await Delegation.get_or_none(id=key)
    if row is None or resident_id not in (str(row.grantor_id), str(row.grantee_id)):
        raise Problem("not_found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at"])
    return row


async def describe(row: Delegation) -> DelegationOut:
    await row.fetch_related("grantor", "grantee")
    labels = grantable()
    now = datetime.now(UTC)
    return DelegationOut(
        id=str(row.id),
        grantor_id=str(row.grantor_id),
        grantor_name=mask_name(row.grantor.name) if row.grantor.name else None,
        grantee_id=str(row.grantee_id),
        grantee_phone=mask_phone(row.grantee.phone),
        relationship=row.relationship,
        scopes=[
            ScopeOut(scope=s, label=gettext(labels[s]) if s in labels else s) for s in row.scopes
        ],
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        active=row.revoked_at is None and row.expires_at > now,
    )
