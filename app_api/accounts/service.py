"""Profile reads and real-name binding, free of HTTP."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from app_api import ratelimit
from app_api.accounts.schemas import Coded, EnterpriseProfile, Profile, ResidentFound
from app_api.errors import Problem
from app_api.identity.crypto import PiiVault
from app_api.identity.labels import (
    DISTRICT_LABELS,
    EMPLOYMENT_LABELS,
    HUKOU_LABELS,
    SIZE_LABELS,
    label,
)
from app_api.identity.models import Enterprise, IdentityCorrection, Resident
from app_api.identity.numbers import (
    NumberError,
    birth_date_of,
    mask_id_number,
    mask_name,
    mask_phone,
    validate_id_number,
)
from app_api.services import Services
from integrations.provincial import AuditHook, UpstreamRejected
from integrations.provincial.population import population_client
from miniprograms.common import path_id, upstream

ID_CONTEXT = "resident.id_number"
PURPOSE = "real_name_verification"
CORRECTION_PURPOSE = "identity_correction"


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


def normalize_name(raw: str) -> str:
    """A name as the registry writes it: no surrounding or doubled spaces."""
    return " ".join(raw.split())


async def _count_check(services: Services, resident_id: str, client_ip: str) -> list[str]:
    """Count one registry check against the account and the address, or refuse it."""
    cfg = services.settings
    day = 24 * 3600
    counters = (
        (f"superapp:idcheck:account:{resident_id}", cfg.identity_checks_per_account_per_day),
        (
            f"superapp:idcheck:ip:{services.keyed_hash('ip', client_ip)}",
            cfg.identity_checks_per_ip_per_day,
        ),
    )
    taken: list[str] = []
    for key, limit in counters:
        taken.append(key)
        wait = await ratelimit.take(services.redis, key, limit, day)
        if wait is not None:
            raise Problem("identity_checks_exhausted", headers={"Retry-After": str(wait)})
    return taken


async def _registry_says(
    services: Services, name: str, number: str, phone: str | None, audit: AuditHook
) -> bool:
    """Ask the population registry; ``upstream_unavailable`` when it cannot answer."""
    try:
        verdict = await upstream(
            population_client(services.clients).verify_identity(
                name, number, phone, audit=audit, purpose=PURPOSE
            )
        )
    except UpstreamRejected:
        return False  # the registry refused the question itself (e.g. a malformed name)
    return verdict.result == "consistent"


def _identity_fields(vault: PiiVault, number: str, name: str) -> dict[str, object]:
    return {
        "name": name,
        "id_number_sealed": vault.seal(number, context=ID_CONTEXT),
        "id_number_index": vault.index(number, context=ID_CONTEXT),
        "birth_date": birth_date_of(number),
        "gender": "M" if int(number[16]) % 2 else "F",
        "updated_at": datetime.now(UTC),
    }


async def bind_identity(
    services: Services,
    resident: Resident,
    raw_name: str,
    raw_id_number: str,
    *,
    client_ip: str,
    audit: AuditHook,
    write: Callable[[], AbstractAsyncContextManager[AuditHook]],
) -> Resident:
    """Bind a real name and ID number to the resident (实名认证), once.

    The registry must confirm all three elements: the name belongs to the ID number, and
    the phone the resident proved by SMS is registered to that number. A bound number is
    never replaced by its resident (a reviewer corrects it: :func:`correct_identity`).
    Attempts that reach the registry are counted per account and per address, so the
    endpoint is no oracle for name/number pairs. ``write`` opens the transaction in which
    the binding and its audit row land together.
    """
    number = _valid_number(raw_id_number)
    name = normalize_name(raw_name)
    index = services.vault.index(number, context=ID_CONTEXT)
    if resident.id_number_index is not None:
        if resident.id_number_index == index and resident.name == name:
            return resident  # the same binding again: nothing to do
        raise Problem("identity_locked")
    taken = await _count_check(services, str(resident.id), client_ip)
    try:
        consistent = await _registry_says(services, name, number, resident.phone, audit)
    except Problem:
        for key in taken:  # the registry was down: the attempt taught nobody anything
            await ratelimit.give_back(services.redis, key)
        raise
    if not consistent:
        await audit("identity.bind_refused", f"resident:{resident.id}", PURPOSE)
        raise Problem("identity_mismatch")
    fields = _identity_fields(services.vault, number, name)
    try:
        async with write() as audit_in_tx:
            # Only an unbound row is bound: of two concurrent bindings one wins.
            won = await Resident.filter(id=resident.id, id_number_index__isnull=True).update(
                **fields
            )
            if won != 1:
                raise Problem("identity_locked")
            await audit_in_tx("identity.bind", f"resident:{resident.id}", PURPOSE)
    except IntegrityError:
        raise Problem("identity_already_bound") from None
    await resident.refresh_from_db()
    return resident


async def correct_identity(
    services: Services,
    resident_id: str,
    raw_name: str,
    raw_id_number: str,
    reason: str,
    *,
    operator_id: str,
    audit: AuditHook,
    write: Callable[[], AbstractAsyncContextManager[AuditHook]],
) -> Resident:
    """A reviewer corrects a resident's real name and ID number, with a reason.

    The reviewer has seen the documents; the registry still confirms that the name belongs
    to the number. The old number's cached provincial copies are dropped, so nothing read
    under it is shown again.
    """
    resident = await _resident(resident_id)
    number = _valid_number(raw_id_number)
    name = normalize_name(raw_name)
    if not await _registry_says(services, name, number, None, audit):
        raise Problem("identity_mismatch")
    old_number = (
        services.vault.open(resident.id_number_sealed, context=ID_CONTEXT)
        if resident.id_number_sealed
        else None
    )
    fields = _identity_fields(services.vault, number, name)
    try:
        async with write() as audit_in_tx:
            await Resident.filter(id=resident.id).update(**fields)
            await IdentityCorrection.create(
                resident_id=resident.id,
                operator_id=operator_id,
                reason=reason.strip(),
                old_index=resident.id_number_index,
                new_index=fields["id_number_index"],
            )
            await audit_in_tx("identity.correct", f"resident:{resident.id}", CORRECTION_PURPOSE)
    except IntegrityError:
        raise Problem("identity_already_bound") from None
    if old_number and old_number != number:
        await services.gateway.forget_person(old_number)
    await resident.refresh_from_db()
    return resident


async def _resident(resident_id: str) -> Resident:
    key = path_id(resident_id)
    resident = await Resident.get_or_none(id=key)
    if resident is None:
        raise Problem("not_found")
    return resident


def _valid_number(raw: str) -> str:
    try:
        return validate_id_number(raw)
    except NumberError as exc:
        raise Problem(exc.code) from None


def found(resident: Resident) -> ResidentFound:
    """What a reviewer sees of a resident they looked up: enough to be sure, all masked."""
    return ResidentFound(
        resident_id=str(resident.id),
        name=mask_name(resident.name) if resident.name else None,
        phone=mask_phone(resident.phone),
        real_name_verified=resident.id_number_index is not None,
    )


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
