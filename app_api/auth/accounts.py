"""Finding and describing the account behind a login."""

from __future__ import annotations

from app_api.auth import totp
from app_api.auth.schemas import Account, EnterpriseRef
from app_api.errors import Problem
from app_api.identity.models import EnterpriseAdmin, Operator, Resident
from app_api.identity.numbers import mask_name, mask_phone
from locales import current


async def resident_for_login(phone: str) -> Resident:
    """The resident with this phone; the first login registers them (phone = account)."""
    resident, _ = await Resident.get_or_create(
        phone=phone, defaults={"preferred_locale": current()}
    )
    return resident


async def operator_for_login(phone: str) -> Operator:
    operator = await Operator.get_or_none(phone=phone, active=True)
    if operator is None:
        raise Problem("forbidden")
    return operator


async def describe(kind: str, account_id: str, aal: int) -> Account:
    """The account as its owner sees it: numbers masked, roles and factors listed."""
    enrolled = await totp.is_enrolled(kind, account_id)
    if kind == "operator":
        operator = await Operator.get(id=account_id)
        return Account(
            id=str(operator.id),
            kind="operator",
            phone=mask_phone(operator.phone),
            name=mask_name(operator.name),
            real_name_verified=True,
            roles=sorted(operator.roles),
            aal=aal,
            mfa_enrolled=enrolled,
            enterprises=[],
            locale=current(),
        )
    resident = await Resident.get(id=account_id)
    admin_of = await EnterpriseAdmin.filter(resident_id=resident.id).prefetch_related("enterprise")
    return Account(
        id=str(resident.id),
        kind="resident",
        phone=mask_phone(resident.phone),
        name=mask_name(resident.name) if resident.name else None,
        real_name_verified=resident.id_number_sealed is not None,
        roles=[],
        aal=aal,
        mfa_enrolled=enrolled,
        enterprises=[
            EnterpriseRef(credit_code=a.enterprise.credit_code, name=a.enterprise.name)
            for a in admin_of
        ],
        locale=current(),
    )


async def label_for(kind: str, account_id: str) -> str:
    """How the account is named inside an authenticator app (masked phone)."""
    model = Operator if kind == "operator" else Resident
    row = await model.get(id=account_id)
    return mask_phone(row.phone)
