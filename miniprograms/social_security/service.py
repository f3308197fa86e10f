"""Social security for one resident, free of HTTP: reads through its upstream's client."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from integrations.provincial import AuditHook
from locales import DISPLAY_TZ, gettext
from miniprograms.common import freshness, id_number_of, paged, upstream, upstream_key
from miniprograms.contract import Problem, Subject, day, money
from miniprograms.social_security import labels
from miniprograms.social_security.models import IssuedCertificate
from miniprograms.social_security.schemas import (
    CertificateOut,
    ContributionOut,
    ContributionPage,
    InsuredOut,
    PensionPage,
    PensionPaymentOut,
    SummaryOut,
)
from miniprograms.social_security.upstream import SocialSecurityUpstream

PURPOSE = "social_security_service"
MAX_RANGE_MONTHS = 120


def parse_month(value: str) -> date:
    year, sep, month = value.partition("-")
    if (
        not sep
        or len(year) != 4
        or len(month) != 2
        or not (year + month).isdigit()
        or not 1 <= int(month) <= 12
        or int(year) < 1  # there is no year 0: date() would raise
    ):
        raise Problem("month_range_invalid")
    return date(int(year), int(month), 1)


def month_range(first: str | None, last: str | None, today: date) -> tuple[str, str]:
    """Validate ``from``/``to`` (YYYY-MM); defaults are the last twelve months."""
    end = parse_month(last) if last else date(today.year, today.month, 1)
    if first:
        start = parse_month(first)
    else:
        index = end.year * 12 + end.month - 1 - 11
        start = date(index // 12, index % 12 + 1, 1)
    span = (end.year - start.year) * 12 + end.month - start.month
    if span < 0 or span >= MAX_RANGE_MONTHS or start.year < 1990:
        raise Problem("month_range_invalid")
    return f"{start:%Y-%m}", f"{end:%Y-%m}"


async def summary(client: SocialSecurityUpstream, subject: Subject, audit: AuditHook) -> SummaryOut:
    fetched = await upstream(client.summary(id_number_of(subject), audit=audit, purpose=PURPOSE))
    data = fetched.data
    return SummaryOut(
        paying_city=data.paying_city,
        contribution_base=money(data.contribution_base_fen),
        months_paid=data.months_paid,
        personal_account=money(data.personal_account_fen),
        insured=[
            InsuredOut(
                type=i.type,
                label=gettext(labels.INSURANCE[i.type]),
                status=i.status,
                status_label=gettext(labels.STATUS[i.status]),
                since=i.since,
            )
            for i in data.insured
        ],
        **freshness(fetched),
    )


async def contributions(
    client: SocialSecurityUpstream,
    subject: Subject,
    audit: AuditHook,
    first: str,
    last: str,
    page: int,
    page_size: int,
) -> ContributionPage:
    fetched = await upstream(
        client.contributions(
            id_number_of(subject), first, last, page, page_size, audit=audit, purpose=PURPOSE
        )
    )
    rows = fetched.data
    return ContributionPage(
        items=[
            ContributionOut(
                period=r.period,
                type=r.type,
                label=gettext(labels.INSURANCE[r.type]),
                base=money(r.base_fen),
                personal=money(r.personal_fen),
                employer=money(r.employer_fen),
            )
            for r in rows.items
        ],
        **paged(fetched),
    )


async def pension_payments(
    client: SocialSecurityUpstream, subject: Subject, audit: AuditHook, page: int, page_size: int
) -> PensionPage:
    fetched = await upstream(
        client.pension_payments(
            id_number_of(subject), page, page_size, audit=audit, purpose=PURPOSE
        )
    )
    rows = fetched.data
    return PensionPage(
        items=[
            PensionPaymentOut(period=r.period, amount=money(r.amount_fen), paid_on=day(r.paid_on))
            for r in rows.items
        ],
        **paged(fetched),
    )


async def issue_certificate(
    client: SocialSecurityUpstream,
    subject: Subject,
    audit: AuditHook,
    purpose: str,
    idempotency_key: str | None,
) -> CertificateOut:
    """Issue a 参保证明; the same Idempotency-Key returns the same certificate."""
    key = idempotency_key or secrets.token_hex(16)
    existing = await IssuedCertificate.get_or_none(
        resident_id=subject.resident_id, idempotency_key=key
    )
    if existing is None:
        cert = await upstream(
            client.issue_certificate(
                id_number_of(subject),
                idempotency_key=upstream_key(subject, key),
                audit=audit,
                purpose=PURPOSE,
            ),
            {"NOT_INSURED": "not_insured"},
        )
        existing, _ = await IssuedCertificate.get_or_create(
            resident_id=subject.resident_id,
            idempotency_key=key,
            defaults={
                "certificate_no": cert.certificate_no,
                "verification_code": cert.verification_code,
                "purpose": purpose,
                "months_paid": cert.months_paid,
                "issued_at": datetime.fromisoformat(cert.issued_at),
                "valid_until": date.fromisoformat(cert.valid_until),
            },
        )
    if existing.purpose != purpose:
        # As for withdrawals: one key names one request, never a different one.
        raise Problem("idempotency_key_reused")
    return CertificateOut(
        certificate_no=existing.certificate_no,
        verification_code=existing.verification_code,
        issued_at=existing.issued_at.astimezone(DISPLAY_TZ),
        valid_until=day(existing.valid_until),
        months_paid=existing.months_paid,
    )
