"""Bodies of the delegation endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app_api.schemas import Body, Out

Relationship = Literal["child", "spouse", "parent", "sibling", "grandchild", "other"]


class DelegationRequest(Body):
    relative_phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=20)]
    days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 90
    relationship: Relationship = "child"


class ScopeOut(Out):
    scope: str
    label: str


class DelegationOut(Out):
    id: str
    grantor_id: str
    grantor_name: str | None
    grantee_id: str
    grantee_phone: str
    relationship: str
    scopes: list[ScopeOut]
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class DelegationList(Out):
    granted: list[DelegationOut]
    received: list[DelegationOut]
