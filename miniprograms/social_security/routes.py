"""/api/v1/social-security."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, post
from litestar.params import Parameter

from integrations.provincial import AuditHook
from miniprograms.access import resident
from miniprograms.common import IdempotencyKey, PageNo, PageSize
from miniprograms.contract import Subject
from miniprograms.social_security import service
from miniprograms.social_security.schemas import (
    CertificateOut,
    CertificateRequest,
    ContributionPage,
    PensionPage,
    SummaryOut,
)
from miniprograms.social_security.upstream import SocialSecurityUpstream

VIEW = resident(scope="view_social_security")
# A certificate is a document issued in the resident's name, not a look at their records:
# a relative needs to be trusted with it separately.
ISSUE = resident(scope="issue_social_security_certificate")
# What a read of the province can answer besides data (see the OpenAPI document).
UPSTREAM = ("real_name_required", "upstream_unavailable")


@get(
    "/summary",
    opt={"access": VIEW, "problems": UPSTREAM},
    summary="Insured status, base, months paid, personal account",
)
async def read_summary(
    subject: Subject, social_security: SocialSecurityUpstream, audit: AuditHook
) -> SummaryOut:
    return await service.summary(social_security, subject, audit)


@get(
    "/contributions",
    opt={"access": VIEW, "problems": (*UPSTREAM, "month_range_invalid")},
    summary="Monthly contribution records (paged)",
)
async def read_contributions(
    subject: Subject,
    social_security: SocialSecurityUpstream,
    audit: AuditHook,
    first: Annotated[str | None, Parameter(query="from", pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
    last: Annotated[str | None, Parameter(query="to", pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> ContributionPage:
    # The province's calendar, which the sandbox shares: "the last twelve months" of records.
    first, last = service.month_range(first, last, social_security.today())
    return await service.contributions(
        social_security, subject, audit, first, last, page, page_size
    )


@get(
    "/pension-payments",
    opt={"access": VIEW, "problems": UPSTREAM},
    summary="Pension paid to a retiree (paged, newest first)",
)
async def read_pension_payments(
    subject: Subject,
    social_security: SocialSecurityUpstream,
    audit: AuditHook,
    page: PageNo = 1,
    page_size: PageSize = 12,
) -> PensionPage:
    return await service.pension_payments(social_security, subject, audit, page, page_size)


@post(
    "/certificates",
    opt={
        "access": ISSUE,
        "problems": (*UPSTREAM, "not_insured", "upstream_refused", "idempotency_key_reused"),
    },
    status_code=201,
    summary="Issue a contribution certificate (参保证明)",
)
async def issue_certificate(
    data: CertificateRequest,
    subject: Subject,
    social_security: SocialSecurityUpstream,
    audit: AuditHook,
    idempotency_key: IdempotencyKey = None,
) -> CertificateOut:
    return await service.issue_certificate(
        social_security, subject, audit, data.purpose, idempotency_key
    )


def router() -> Router:
    return Router(
        path="/social-security",
        route_handlers=[read_summary, read_contributions, read_pension_payments, issue_certificate],
        tags=["social security"],
        # The handlers' typed client (their ``social_security`` parameter).
    )
