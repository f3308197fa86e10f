"""/api/v1/housing-fund."""

from __future__ import annotations

from litestar import Response, Router, get, post
from litestar.openapi import ResponseSpec

from integrations.provincial import AuditHook
from miniprograms.access import resident
from miniprograms.common import IdempotencyKey, PageNo, PageSize
from miniprograms.contract import Subject
from miniprograms.housing_fund import service
from miniprograms.housing_fund.schemas import (
    AccountOut,
    LoanOut,
    TransactionPage,
    WithdrawalOut,
    WithdrawalRequest,
)
from miniprograms.housing_fund.upstream import HousingFundUpstream

VIEW = resident(scope="view_housing_fund")
APPLY = resident(scope="apply_housing_fund_withdrawal")
# What a read of the province can answer besides data (see the OpenAPI document).
UPSTREAM = ("real_name_required", "upstream_unavailable", "upstream_refused")
ACCOUNT = (*UPSTREAM, "housing_fund_account_not_found")


@get(
    "/account",
    opt={"access": VIEW, "problems": ACCOUNT},
    summary="Account status, balance and monthly deposit",
)
async def read_account(
    subject: Subject, housing_fund: HousingFundUpstream, audit: AuditHook
) -> AccountOut:
    return await service.account(housing_fund, subject, audit)


@get(
    "/transactions",
    opt={"access": VIEW, "problems": ACCOUNT},
    summary="Deposits, interest and repayments (paged, newest first)",
)
async def read_transactions(
    subject: Subject,
    housing_fund: HousingFundUpstream,
    audit: AuditHook,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> TransactionPage:
    return await service.transactions(housing_fund, subject, audit, page, page_size)


@get(
    "/loan",
    opt={"access": VIEW, "problems": (*ACCOUNT, "housing_fund_loan_not_found")},
    summary="Housing fund loan: amount, balance, next instalment",
)
async def read_loan(
    subject: Subject, housing_fund: HousingFundUpstream, audit: AuditHook
) -> LoanOut:
    return await service.loan(housing_fund, subject, audit)


@post(
    "/withdrawals",
    opt={
        "access": APPLY,
        "problems": (
            *ACCOUNT,
            "idempotency_key_required",
            "idempotency_key_reused",
            "housing_fund_sealed",
            "withdrawal_exceeds_balance",
            "withdrawal_reason_invalid",
        ),
    },
    summary="Apply to withdraw (提取); the same Idempotency-Key never files twice",
    responses={
        200: ResponseSpec(
            WithdrawalOut,
            description="Filed before with this Idempotency-Key: the same application",
        )
    },
)
async def apply_withdrawal(
    data: WithdrawalRequest,
    subject: Subject,
    housing_fund: HousingFundUpstream,
    audit: AuditHook,
    idempotency_key: IdempotencyKey = None,
) -> Response[WithdrawalOut]:
    application, created = await service.apply_withdrawal(
        housing_fund, subject, audit, data, idempotency_key
    )
    return Response(application, status_code=201 if created else 200)


@get(
    "/withdrawals/{application_id:str}",
    opt={"access": VIEW, "problems": ("not_found", "real_name_required")},
    summary="A withdrawal application and its status",
)
async def read_withdrawal(
    application_id: str, subject: Subject, housing_fund: HousingFundUpstream, audit: AuditHook
) -> WithdrawalOut:
    return await service.withdrawal(housing_fund, subject, audit, application_id)


def router() -> Router:
    return Router(
        path="/housing-fund",
        route_handlers=[
            read_account,
            read_transactions,
            read_loan,
            apply_withdrawal,
            read_withdrawal,
        ],
        tags=["housing fund"],
        # The handlers' typed client (their ``housing_fund`` parameter).
    )
