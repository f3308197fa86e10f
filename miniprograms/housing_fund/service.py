"""Housing fund for one resident, free of HTTP; withdrawals are filed exactly once per key."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from integrations.provincial import AuditHook, Fetched, UpstreamRejected, UpstreamUnavailable
from locales import format_moment, gettext
from miniprograms.common import (
    freshness,
    id_number_of,
    paged,
    path_id,
    refused,
    upstream,
    upstream_key,
)
from miniprograms.contract import Problem, Subject, day, money
from miniprograms.housing_fund import labels
from miniprograms.housing_fund.models import WithdrawalApplication
from miniprograms.housing_fund.schemas import (
    AccountOut,
    Deposit,
    InstalmentOut,
    LoanOut,
    TransactionOut,
    TransactionPage,
    WithdrawalOut,
    WithdrawalRequest,
)
from miniprograms.housing_fund.upstream import FundAccount, FundLoan, HousingFundUpstream

PURPOSE = "housing_fund_service"
# A row still "submitting" after this long belongs to a request that died; the next
# request with the same key takes it over (the province deduplicates by key).
ABANDONED_AFTER = timedelta(seconds=10)
TWIN_POLL_S = 0.05

REJECTIONS = {
    "ACCOUNT_NOT_FOUND": "housing_fund_account_not_found",
    "LOAN_NOT_FOUND": "housing_fund_loan_not_found",
    "ACCOUNT_SEALED": "housing_fund_sealed",
    "AMOUNT_EXCEEDS_BALANCE": "withdrawal_exceeds_balance",
    "REASON_NOT_SUPPORTED": "withdrawal_reason_invalid",
    "APPLICATION_NOT_FOUND": "not_found",
}


def account_out(fetched: Fetched[FundAccount]) -> AccountOut:
    a = fetched.data
    return AccountOut(
        status=a.status,
        status_label=gettext(labels.ACCOUNT_STATUS[a.status]),
        employer=a.employer,
        balance=money(a.balance_fen),
        withdrawable=money(a.withdrawable_fen),
        monthly_deposit=Deposit(
            employer=money(a.monthly_deposit.employer_fen),
            personal=money(a.monthly_deposit.personal_fen),
        ),
        opened_on=day(a.opened_on),
        **freshness(fetched),
    )


async def account(client: HousingFundUpstream, subject: Subject, audit: AuditHook) -> AccountOut:
    return account_out(
        await upstream(
            client.account(id_number_of(subject), audit=audit, purpose=PURPOSE), REJECTIONS
        )
    )


async def transactions(
    client: HousingFundUpstream, subject: Subject, audit: AuditHook, page: int, page_size: int
) -> TransactionPage:
    fetched = await upstream(
        client.transactions(id_number_of(subject), page, page_size, audit=audit, purpose=PURPOSE),
        REJECTIONS,
    )
    rows = fetched.data
    return TransactionPage(
        items=[
            TransactionOut(
                date=day(t.date),
                kind=t.kind,
                label=gettext(labels.TRANSACTION[t.kind]),
                amount=money(t.amount_fen),
                balance_after=money(t.balance_after_fen),
            )
            for t in rows.items
        ],
        **paged(fetched),
    )


def loan_out(fetched: Fetched[FundLoan]) -> LoanOut:
    loan = fetched.data
    return LoanOut(
        loan_no=loan.loan_no,
        amount=money(loan.amount_fen),
        balance=money(loan.balance_fen),
        term_months=loan.term_months,
        rate_percent=f"{loan.rate_bp / 100:.2f}%",
        started_on=day(loan.started_on),
        next_instalment=InstalmentOut(
            due_on=day(loan.next_instalment.due_on), amount=money(loan.next_instalment.amount_fen)
        ),
        **freshness(fetched),
    )


async def loan(client: HousingFundUpstream, subject: Subject, audit: AuditHook) -> LoanOut:
    return loan_out(
        await upstream(client.loan(id_number_of(subject), audit=audit, purpose=PURPOSE), REJECTIONS)
    )


def withdrawal_out(row: WithdrawalApplication) -> WithdrawalOut:
    return WithdrawalOut(
        id=str(row.id),
        application_no=row.application_no or "",
        reason=row.reason,
        reason_label=gettext(labels.REASON.get(row.reason, row.reason)),
        amount=money(row.amount_fen),
        status=row.status,
        status_label=gettext(labels.APPLICATION_STATUS.get(row.status, row.status)),
        submitted_at=row.submitted_at,
        submitted_at_display=format_moment(row.submitted_at),
    )


def fingerprint(request: WithdrawalRequest) -> str:
    return hashlib.sha256(f"{request.reason}:{request.amount_fen}".encode()).hexdigest()


async def _claim(
    subject: Subject, key: str, request: WithdrawalRequest, wait_s: float
) -> tuple[WithdrawalApplication, bool]:
    """Own the row for (resident, key), or find the finished twin. Returns (row, must_file).

    Waits at most ``wait_s`` for a twin still filing: every pass of the loop, whichever way
    it went, ends at the deadline check and a pause.
    """
    digest = fingerprint(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            row = await WithdrawalApplication.create(
                id=uuid.uuid4(),
                resident_id=subject.resident_id,
                idempotency_key=key,
                fingerprint=digest,
                reason=request.reason,
                amount_fen=request.amount_fen,
            )
            return row, True
        except IntegrityError:
            row = await WithdrawalApplication.get_or_none(
                resident_id=subject.resident_id, idempotency_key=key
            )
        # No row: the twin failed and let go of the key; the next pass tries to own it.
        if row is not None:
            if row.fingerprint != digest:
                raise Problem("idempotency_key_reused")
            if row.application_no:
                return row, False
            if datetime.now(UTC) - row.submitted_at > ABANDONED_AFTER:
                return row, True
        if loop.time() > deadline:
            raise Problem("upstream_unavailable", seconds=5, headers={"Retry-After": "5"})
        await asyncio.sleep(TWIN_POLL_S)


async def apply_withdrawal(
    client: HousingFundUpstream,
    subject: Subject,
    audit: AuditHook,
    request: WithdrawalRequest,
    key: str | None,
) -> tuple[WithdrawalOut, bool]:
    """File a withdrawal once per Idempotency-Key; returns the application and whether it is new."""
    if not key:
        raise Problem("idempotency_key_required")
    id_number = id_number_of(subject)
    # A twin's filing takes at most one provincial budget; wait about twice that for it.
    wait_s = 2 * client.budget_s
    row, must_file = await _claim(subject, key, request, wait_s)
    if not must_file:
        return withdrawal_out(row), False
    # The province deduplicates too, so a retry after a crash never files twice.
    try:
        filed = await client.apply_withdrawal(
            id_number,
            request.reason,
            request.amount_fen,
            idempotency_key=upstream_key(subject, key),
            audit=audit,
            purpose=PURPOSE,
        )
    except UpstreamRejected as exc:
        await row.delete()
        raise refused(exc, REJECTIONS) from exc
    except UpstreamUnavailable as exc:
        await row.delete()
        raise Problem("upstream_unavailable", seconds=30, headers={"Retry-After": "30"}) from exc
    row.application_no = filed.application_id
    row.status = filed.status
    await row.save(update_fields=["application_no", "status"])
    return withdrawal_out(row), True


async def withdrawal(
    client: HousingFundUpstream, subject: Subject, audit: AuditHook, application_id: str
) -> WithdrawalOut:
    """One of the subject's applications, with its status refreshed from the province when it answers."""
    key = path_id(application_id)
    row = await WithdrawalApplication.get_or_none(id=key, resident_id=subject.resident_id)
    if row is None or not row.application_no:
        raise Problem("not_found")
    try:
        fetched = await client.withdrawal_status(
            id_number_of(subject), row.application_no, audit=audit, purpose=PURPOSE
        )
    except (UpstreamUnavailable, UpstreamRejected):
        return withdrawal_out(row)  # the last status we know is still worth showing
    if fetched.data.status != row.status:
        row.status = fetched.data.status
        await row.save(update_fields=["status"])
    return withdrawal_out(row)
