"""What the account endpoints accept and return."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from app_api.schemas import Body, Out


class Coded(Out):
    code: str
    label: str


class Profile(Out):
    resident_id: str
    name: str | None
    id_number: str | None  # always masked
    birth_date: date | None
    gender: str | None
    district: Coded | None
    hukou_type: Coded | None
    employment_status: Coded | None
    disability_level: int
    household_size: int


class IdentityBinding(Body):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class EnterpriseProfile(Out):
    credit_code: str
    name: str
    industry_code: str
    size: Coded
    district: Coded
    founded_on: date
    high_tech: bool
    employee_count: int


class IdentityCorrectionRequest(Body):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    reason: Annotated[str, msgspec.Meta(min_length=5, max_length=500)]


class ResidentSearch(Body):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class ResidentFound(Out):
    resident_id: str
    name: str | None  # masked
    phone: str  # masked
    real_name_verified: bool
