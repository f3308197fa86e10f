"""Profile reads and real-name binding, free of HTTP."""

from __future__ import annotations

from app_api.accounts.schemas import Coded, EnterpriseProfile, Profile
from app_api.errors import Problem
from app_api.identity.crypto import PiiVault
from app_api.identity.labels import (
    DISTRICT_LABELS,
    EMPLOYMENT_LABELS,
    HUKOU_LABELS,
    SIZE_LABELS,
    label,
)
from app_api.identity.models import Enterprise, Resident
from app_api.identity.numbers import (
    NumberError,
    birth_date_of,
    mask_id_number,
    validate_id_number,
)

ID_CONTEXT = "resident.id_number"


def _coded(table: dict[str, str], code: str | None) -> Coded | None:
    return None if code is None else Coded(code=code, label=label(table, code) or code)


def profile_of(resident: Resident, vault: PiiVault) -> Profile:
    """The resident's profile with the ID number masked."""
    id_number = (
        vault.open(resident.id_number_sealed, context=ID_CONTEXT)
        if resident.id_number_sealed
        else None
    )
    return Profile(
        resident_id=str(resident.id),
        name=resident.name,
        id_number=mask_id_number(id_number) if id_number else None,
        birth_date=resident.birth_date,
        gender=resident.gender,
        district=_coded(DISTRICT_LABELS, resident.district),
        hukou_type=_coded(HUKOU_LABELS, resident.hukou_type),
        employment_status=_coded(EMPLOYMENT_LABELS, resident.employment_status),
        disability_level=resident.disability_level,
        household_size=resident.household_size,
    )


def seal_id_number(vault: PiiVault, raw: str) -> tuple[str, str, str]:
    """Validate an ID number; returns (normalized, sealed, blind index)."""
    try:
        number = validate_id_number(raw)
    except NumberError as exc:
        raise Problem(exc.code) from None
    return number, vault.seal(number, context=ID_CONTEXT), vault.index(number, context=ID_CONTEXT)


async def bind_identity(
    resident: Resident, vault: PiiVault, name: str, raw_id_number: str
) -> Resident:
    """Attach a verified real name and ID number to the resident (实名认证)."""
    number, sealed, index = seal_id_number(vault, raw_id_number)
    holder = await Resident.get_or_none(id_number_index=index)
    if holder is not None and holder.id != resident.id:
        raise Problem("identity_already_bound")
    resident.name = name.strip()
    resident.id_number_sealed = sealed
    resident.id_number_index = index
    resident.birth_date = birth_date_of(number)
    resident.gender = "M" if int(number[16]) % 2 else "F"
    await resident.save(
        update_fields=[
            "name",
            "id_number_sealed",
            "id_number_index",
            "birth_date",
            "gender",
            "updated_at",
        ]
    )
    return resident


def enterprise_profile(enterprise: Enterprise) -> EnterpriseProfile:
    return EnterpriseProfile(
        credit_code=enterprise.credit_code,
        name=enterprise.name,
        industry_code=enterprise.industry_code,
        size=Coded(
            code=enterprise.size, label=label(SIZE_LABELS, enterprise.size) or enterprise.size
        ),
        district=Coded(
            code=enterprise.district, label=label(DISTRICT_LABELS, enterprise.district) or ""
        ),
        founded_on=enterprise.founded_on,
        high_tech=enterprise.high_tech,
        employee_count=enterprise.employee_count,
    )
