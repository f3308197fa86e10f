"""/api/v1/policies (anyone may read the library) and /api/v1/admin/policies (operators).

The router sits at the root of the API so that both halves keep their natural paths."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Mapping
from datetime import date
from typing import Annotated, Literal

from litestar import Router, get, post, put
from litestar.params import Parameter
from tortoise.queryset import QuerySet

from integrations.provincial import AuditHook
from integrations.provincial.enterprise import enterprise_client
from integrations.provincial.population import population_client
from miniprograms.access import operator, public, resident
from miniprograms.common import PageNo, PageSize, Problem, id_number_of, upstream
from miniprograms.contract import Actor, EnterpriseRef, Runtime, Subject
from miniprograms.policy_push import grants, matching, personal, profiles, service
from miniprograms.policy_push.models import Grant
from miniprograms.policy_push.schemas import (
    Audience,
    Category,
    DeclaredIn,
    EligibilityOut,
    GrantOut,
    GrantPage,
    GrantState,
    InterestsIn,
    InterestsOut,
    MatchPage,
    PolicyAdminOut,
    PolicyIn,
    PolicyOut,
    PolicyPage,
    PreviewOut,
    ProfileChanged,
    ProfileOut,
    PublishIn,
)
from miniprograms.policy_push.upstream import BenefitPaymentUpstream, benefit_payment_client

EDIT = operator("policy_editor")
PUBLISH = operator("policy_publisher")
READ_ADMIN = operator("policy_editor", "policy_publisher", "auditor")
PREVIEW = operator("policy_editor", "policy_publisher")
VIEW = resident(scope="view_policy_matches")
UPDATE = resident(scope="update_policy_profile")
CONFIRM = resident(scope="confirm_policy_grants")
COMPANY = resident(aal=2)  # an enterprise admin acts for the company only after TOTP
PURPOSE = profiles.PURPOSE
REFRESH_EVERY_S = 60
Query = Annotated[str | None, Parameter(max_length=100, description="words to find")]
WRITE_PROBLEMS = ("policy_dates_invalid", "policy_amounts_invalid", "policy_rule_invalid")


@get(
    "/policies",
    opt={"access": public()},
    summary="The policy library: what is in force, newest first, or what matches q",
)
async def list_policies(
    today: date,
    q: Query = None,
    category: Category | None = None,
    audience: Audience | None = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> PolicyPage:
    rows, total = await service.find(
        q=q, category=category, audience=audience, page=page, page_size=page_size, today=today
    )
    return service.page_out(rows, total, page, page_size)


@get(
    "/policies/{policy_id:str}",
    opt={"access": public(), "problems": ("not_found",)},
    summary="One published policy, with the amount in force today",
)
async def read_policy(policy_id: str, today: date) -> PolicyOut:
    return await service.published_one(policy_id, today)


@post(
    "/admin/policies",
    opt={"access": EDIT, "problems": WRITE_PROBLEMS},
    status_code=201,
    summary="Draft a policy (version 1)",
)
async def create_policy(data: PolicyIn, actor: Actor, today: date) -> PolicyAdminOut:
    policy = await service.draft(data, actor.account_id)
    return await service.admin_out(policy, today)


@put(
    "/admin/policies/{policy_id:str}",
    opt={
        "access": EDIT,
        "problems": (*WRITE_PROBLEMS, "not_found", "policy_retired", "policy_audience_fixed"),
    },
    summary="Write the policy's next version (residents keep the published one)",
)
async def revise_policy(
    policy_id: str, data: PolicyIn, actor: Actor, today: date
) -> PolicyAdminOut:
    policy = await service.revise(policy_id, data, actor.account_id)
    return await service.admin_out(policy, today)


@post(
    "/admin/policies/{policy_id:str}/publish",
    opt={
        "access": PUBLISH,
        "problems": (
            "not_found",
            "policy_retired",
            "policy_nothing_to_publish",
            "policy_changed_since_review",
            "policy_two_person",
        ),
    },
    status_code=200,
    summary="Publish the version reviewed (by an operator who wrote none since the last)",
)
async def publish_policy(
    policy_id: str, data: PublishIn, actor: Actor, today: date, runtime: Runtime
) -> PolicyAdminOut:
    policy = await service.publish(policy_id, data.version, actor.account_id)
    # After the commit: the job reads the published version. Policies in force later are
    # matched by the daily job on their first day.
    await matching.queue_match(runtime, str(policy.id), data.version)
    return await service.admin_out(policy, today)


@post(
    "/admin/policies/{policy_id:str}/retire",
    opt={"access": PUBLISH, "problems": ("not_found", "policy_not_published", "policy_retired")},
    status_code=200,
    summary="Take a published policy out of the library",
)
async def retire_policy(policy_id: str, actor: Actor, today: date) -> PolicyAdminOut:
    policy = await service.retire(policy_id, actor.account_id)
    return await service.admin_out(policy, today)


@get(
    "/admin/policies",
    opt={"access": READ_ADMIN},
    summary="Policies in any state (state=draft: those waiting for a publisher)",
)
async def list_policies_admin(
    # Named "state" in the query; the parameter itself may not be (Litestar's own name).
    in_state: Annotated[
        Literal["draft", "published", "retired"] | None, Parameter(query="state")
    ] = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> PolicyPage:
    rows, total = await service.admin_list(in_state, page, page_size)
    return service.page_out(rows, total, page, page_size)


@get(
    "/admin/policies/{policy_id:str}",
    opt={"access": READ_ADMIN, "problems": ("not_found",)},
    summary="A policy in any state, with its versions",
)
async def read_policy_admin(policy_id: str, today: date) -> PolicyAdminOut:
    return await service.admin_one(policy_id, today)


def _company(enterprises: Mapping[str, EnterpriseRef], credit_code: str) -> EnterpriseRef:
    """The enterprise named in the path, if the caller administers it (else forbidden,
    whether or not it exists)."""
    ref = enterprises.get(credit_code.strip().upper())
    if ref is None:
        raise Problem("forbidden")
    return ref


async def _refreshed(
    runtime: Runtime, account_id: str, fetch: Coroutine[object, object, None]
) -> None:
    """Run one registry refresh, at most one per account a minute (each is a consented read
    of the province's records, not something to repeat in a loop); one that failed does
    not count."""
    key = f"refresh:{account_id}"
    if not await runtime.store.set(key, "1", ex=REFRESH_EVERY_S, nx=True):
        fetch.close()  # never awaited: closed, so Python does not warn of it
        raise Problem(
            "policy_refresh_too_soon",
            seconds=REFRESH_EVERY_S,
            headers={"Retry-After": str(REFRESH_EVERY_S)},
        )
    try:
        await upstream(fetch)
    except BaseException:
        await runtime.store.delete(key)
        raise


async def _profile(audience: str, account_id: str, today: date) -> ProfileOut:
    return profiles.profile_out(audience, await profiles.facts(audience, account_id), today)


async def _matched_again(
    runtime: Runtime, audience: str, account_id: str, today: date
) -> ProfileChanged:
    """Their facts changed: every policy in force asked again. The facts themselves are
    not in the answer: changing them is a scope of its own, reading them another."""
    found = await matching.rematch(runtime, audience, account_id, today)
    return ProfileChanged(new_policies_found=found)


def _payee_of(subject: Subject) -> dict[str, grants.Payee]:
    return {subject.resident_id: grants.Payee("resident", id_number_of(subject))}


# --- one resident (or a relative holding the scope) -----------------------------------


@get(
    "/policies/profile",
    opt={"access": VIEW},
    summary="What policy matching knows about me: each fact, its source and date",
)
async def read_profile(subject_id: str, today: date, audit: AuditHook) -> ProfileOut:
    await audit("policy_push.profile.read", f"resident:{subject_id}", PURPOSE)
    return await _profile("resident", subject_id, today)


@post(
    "/policies/profile/refresh",
    opt={
        "access": UPDATE,
        "problems": ("real_name_required", "upstream_unavailable", "policy_refresh_too_soon"),
    },
    status_code=200,
    summary="Fetch my facts from the population registry (I consent), then match again; how many policies were newly found",
)
async def refresh_profile(
    subject: Subject,
    clients: Mapping[str, object],
    audit: AuditHook,
    runtime: Runtime,
    today: date,
) -> ProfileChanged:
    id_number = id_number_of(subject)
    await _refreshed(
        runtime,
        subject.resident_id,
        profiles.refresh_resident(
            subject.resident_id,
            subject.actor_id,
            id_number,
            population_client(clients),
            audit,
        ),
    )
    return await _matched_again(runtime, "resident", subject.resident_id, today)


@put(
    "/policies/profile/declared",
    opt={"access": UPDATE, "problems": ("policy_declaration_empty",)},
    summary="State what only I can (disability level), then match again",
)
async def declare_profile(
    data: DeclaredIn, subject_id: str, audit: AuditHook, runtime: Runtime, today: date
) -> ProfileChanged:
    if not await profiles.declare("resident", subject_id, data, today):
        raise Problem("policy_declaration_empty")
    await audit("policy_push.profile.declare", f"resident:{subject_id}", PURPOSE)
    return await _matched_again(runtime, "resident", subject_id, today)


@get(
    "/policies/matches",
    opt={"access": VIEW},
    summary="Policies found for me, newest first, with the reasons",
)
async def list_matches(
    subject_id: str, today: date, audit: AuditHook, page: PageNo = 1, page_size: PageSize = 20
) -> MatchPage:
    await audit("policy_push.matches.read", f"resident:{subject_id}", PURPOSE)
    return await personal.matches("resident", subject_id, today, page, page_size)


@post(
    "/policies/matches/{match_id:str}/dismiss",
    opt={"access": UPDATE, "problems": ("not_found",)},
    status_code=204,
    summary="Hide a policy found for me",
)
async def dismiss_match(match_id: str, subject_id: str, audit: AuditHook) -> None:
    await personal.dismiss(match_id, subject_id)
    await audit("policy_push.match.dismiss", f"match:{match_id}", PURPOSE)


@get("/policies/interests", opt={"access": VIEW}, summary="Categories I do not want")
async def read_interests(subject_id: str, audit: AuditHook) -> InterestsOut:
    await audit("policy_push.interests.read", f"resident:{subject_id}", PURPOSE)
    return await personal.interests(subject_id)


@put(
    "/policies/interests",
    opt={"access": UPDATE},
    summary="Replace the categories I do not want (no pushes, hidden from my matches)",
)
async def write_interests(data: InterestsIn, subject_id: str, audit: AuditHook) -> InterestsOut:
    await audit("policy_push.interests.write", f"resident:{subject_id}", PURPOSE)
    return await personal.set_interests(subject_id, list(data.muted))


@get(
    "/policies/{policy_id:str}/eligibility",
    opt={"access": VIEW, "problems": ("not_found", "policy_for_enterprises", "policy_no_rule")},
    summary="Do I qualify? Each condition met, not met or unknown, and what is missing",
)
async def my_eligibility(
    policy_id: str, subject_id: str, today: date, audit: AuditHook
) -> EligibilityOut:
    answer = await personal.eligibility(policy_id, "resident", subject_id, today)
    await audit("policy_push.eligibility.read", f"policy:{answer.policy_id}", PURPOSE)
    return answer


@get("/grants", opt={"access": VIEW}, summary="Benefits granted to me without applying (免申即享)")
async def list_grants(
    subject_id: str,
    audit: AuditHook,
    clients: Mapping[str, object],
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> GrantPage:
    await audit("policy_push.grants.read", f"resident:{subject_id}", PURPOSE)
    found = Grant.filter(account_id=uuid.UUID(subject_id))
    return await _grant_page(found, page, page_size, (benefit_payment_client(clients), audit))


@post(
    "/grants/{grant_id:str}/confirm",
    opt={
        "access": CONFIRM,
        "problems": ("not_found", "grant_withdrawn", "real_name_required", "upstream_unavailable"),
    },
    status_code=200,
    summary="Confirm a granted benefit in one tap; it is paid once, however often confirmed",
)
async def confirm_grant(
    grant_id: str, subject: Subject, clients: Mapping[str, object], audit: AuditHook, today: date
) -> GrantOut:
    grant = await grants.confirm(
        grant_id,
        _payee_of(subject),
        subject.actor_id,
        benefit_payment_client(clients),
        audit,
        today,
    )
    return (await grants.grant_outs([grant]))[0]


# --- an enterprise, by an administrator past TOTP (惠企政策直达) ------------------------

COMPANY_PROBLEMS = ("forbidden",)


@get(
    "/enterprises/{credit_code:str}/policies/profile",
    opt={"access": COMPANY, "problems": COMPANY_PROBLEMS},
    summary="What policy matching knows about the enterprise",
)
async def read_company_profile(
    credit_code: str, enterprises: Mapping[str, EnterpriseRef], today: date, audit: AuditHook
) -> ProfileOut:
    ref = _company(enterprises, credit_code)
    await audit("policy_push.profile.read", f"enterprise:{ref.id}", PURPOSE)
    return await _profile("enterprise", ref.id, today)


@post(
    "/enterprises/{credit_code:str}/policies/profile/refresh",
    opt={
        "access": COMPANY,
        "problems": (*COMPANY_PROBLEMS, "upstream_unavailable", "policy_refresh_too_soon"),
    },
    status_code=200,
    summary="Fetch the enterprise's facts from the enterprise registry, then match again",
)
async def refresh_company_profile(
    credit_code: str,
    enterprises: Mapping[str, EnterpriseRef],
    actor: Actor,
    clients: Mapping[str, object],
    audit: AuditHook,
    runtime: Runtime,
    today: date,
) -> ProfileChanged:
    ref = _company(enterprises, credit_code)
    await _refreshed(
        runtime,
        ref.id,
        profiles.refresh_enterprise(
            ref.id, ref.credit_code, ref.name, actor.account_id, enterprise_client(clients), audit
        ),
    )
    return await _matched_again(runtime, "enterprise", ref.id, today)


@put(
    "/enterprises/{credit_code:str}/policies/profile/declared",
    opt={"access": COMPANY, "problems": (*COMPANY_PROBLEMS, "policy_declaration_empty")},
    summary="State the enterprise's high-tech certificate, then match again",
)
async def declare_company_profile(
    credit_code: str,
    data: DeclaredIn,
    enterprises: Mapping[str, EnterpriseRef],
    audit: AuditHook,
    runtime: Runtime,
    today: date,
) -> ProfileChanged:
    ref = _company(enterprises, credit_code)
    if not await profiles.declare("enterprise", ref.id, data, today, credit_code=ref.credit_code):
        raise Problem("policy_declaration_empty")
    await audit("policy_push.profile.declare", f"enterprise:{ref.id}", PURPOSE)
    return await _matched_again(runtime, "enterprise", ref.id, today)


@get(
    "/enterprises/{credit_code:str}/policies/matches",
    opt={"access": COMPANY, "problems": COMPANY_PROBLEMS},
    summary="Policies found for the enterprise, newest first, with the reasons",
)
async def list_company_matches(
    credit_code: str,
    enterprises: Mapping[str, EnterpriseRef],
    today: date,
    audit: AuditHook,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> MatchPage:
    ref = _company(enterprises, credit_code)
    await audit("policy_push.matches.read", f"enterprise:{ref.id}", PURPOSE)
    return await personal.matches("enterprise", ref.id, today, page, page_size)


@post(
    "/enterprises/{credit_code:str}/policies/matches/{match_id:str}/dismiss",
    opt={"access": COMPANY, "problems": (*COMPANY_PROBLEMS, "not_found")},
    status_code=204,
    summary="Hide a policy found for the enterprise",
)
async def dismiss_company_match(
    credit_code: str, match_id: str, enterprises: Mapping[str, EnterpriseRef], audit: AuditHook
) -> None:
    await personal.dismiss(match_id, _company(enterprises, credit_code).id)
    await audit("policy_push.match.dismiss", f"match:{match_id}", PURPOSE)


@get(
    "/enterprises/{credit_code:str}/policies/interests",
    opt={"access": COMPANY, "problems": COMPANY_PROBLEMS},
    summary="Categories the enterprise does not want",
)
async def read_company_interests(
    credit_code: str, enterprises: Mapping[str, EnterpriseRef], audit: AuditHook
) -> InterestsOut:
    ref = _company(enterprises, credit_code)
    await audit("policy_push.interests.read", f"enterprise:{ref.id}", PURPOSE)
    return await personal.interests(ref.id)


@put(
    "/enterprises/{credit_code:str}/policies/interests",
    opt={"access": COMPANY, "problems": COMPANY_PROBLEMS},
    summary="Replace the categories the enterprise does not want",
)
async def write_company_interests(
    credit_code: str, data: InterestsIn, enterprises: Mapping[str, EnterpriseRef], audit: AuditHook
) -> InterestsOut:
    ref = _company(enterprises, credit_code)
    await audit("policy_push.interests.write", f"enterprise:{ref.id}", PURPOSE)
    return await personal.set_interests(ref.id, list(data.muted))


@get(
    "/enterprises/{credit_code:str}/policies/{policy_id:str}/eligibility",
    opt={
        "access": COMPANY,
        "problems": (*COMPANY_PROBLEMS, "not_found", "policy_for_residents", "policy_no_rule"),
    },
    summary="Does the enterprise qualify? Each condition, and what is missing",
)
async def company_eligibility(
    credit_code: str,
    policy_id: str,
    enterprises: Mapping[str, EnterpriseRef],
    today: date,
    audit: AuditHook,
) -> EligibilityOut:
    ref = _company(enterprises, credit_code)
    answer = await personal.eligibility(policy_id, "enterprise", ref.id, today)
    await audit("policy_push.eligibility.read", f"enterprise:{ref.id}", PURPOSE)
    return answer


@get(
    "/enterprises/{credit_code:str}/grants",
    opt={"access": COMPANY, "problems": COMPANY_PROBLEMS},
    summary="Benefits granted to the enterprise without applying",
)
async def list_company_grants(
    credit_code: str,
    enterprises: Mapping[str, EnterpriseRef],
    audit: AuditHook,
    clients: Mapping[str, object],
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> GrantPage:
    ref = _company(enterprises, credit_code)
    await audit("policy_push.grants.read", f"enterprise:{ref.id}", PURPOSE)
    found = Grant.filter(account_id=uuid.UUID(ref.id))
    return await _grant_page(found, page, page_size, (benefit_payment_client(clients), audit))


@post(
    "/enterprises/{credit_code:str}/grants/{grant_id:str}/confirm",
    opt={
        "access": COMPANY,
        "problems": (*COMPANY_PROBLEMS, "not_found", "grant_withdrawn", "upstream_unavailable"),
    },
    status_code=200,
    summary="Confirm a benefit granted to the enterprise; paid once",
)
async def confirm_company_grant(
    credit_code: str,
    grant_id: str,
    enterprises: Mapping[str, EnterpriseRef],
    actor: Actor,
    clients: Mapping[str, object],
    audit: AuditHook,
    today: date,
) -> GrantOut:
    ref = _company(enterprises, credit_code)
    payees = {ref.id: grants.Payee("enterprise", ref.credit_code)}
    grant = await grants.confirm(
        grant_id, payees, actor.account_id, benefit_payment_client(clients), audit, today
    )
    return (await grants.grant_outs([grant]))[0]


# --- operators ---------------------------------------------------------------------------


@post(
    "/admin/policies/{policy_id:str}/preview",
    opt={"access": PREVIEW, "problems": ("not_found", "policy_no_rule")},
    status_code=200,
    summary="How many the latest version's rule reaches today, by district, before publishing",
)
async def preview_policy(policy_id: str, today: date, audit: AuditHook) -> PreviewOut:
    policy, version, rule = await service.latest_rule(policy_id)
    await audit("policy_push.preview", f"policy:{policy.id}", "policy_reach_preview")
    counts = await matching.reach(policy.audience, rule, today)
    return service.preview_out(policy, version, today, counts)


@get(
    "/admin/grants",
    opt={"access": READ_ADMIN},
    summary="Grants and their payments, newest first (state=confirmed: waiting to be paid)",
)
async def list_grants_admin(
    audit: AuditHook,
    policy_id: uuid.UUID | None = None,
    in_state: Annotated[GrantState | None, Parameter(query="state")] = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> GrantPage:
    await audit("policy_push.grants.read", f"policy:{policy_id or '*'}", "policy_grant_oversight")
    found = Grant.all()
    if policy_id is not None:
        found = found.filter(policy_id=policy_id)
    if in_state is not None:
        found = found.filter(state=in_state)
    return await _grant_page(found, page, page_size)


async def _grant_page(
    found: QuerySet[Grant],
    page: int,
    page_size: int,
    follow: tuple[BenefitPaymentUpstream, AuditHook] | None = None,
) -> GrantPage:
    """A page of grants; with ``follow`` (the owner looking), payments still open are
    asked after first."""
    total = await found.count()
    rows = list(
        await found.order_by("-created_at", "-id").offset((page - 1) * page_size).limit(page_size)
    )
    if follow is not None:
        await grants.follow_up(rows, *follow)
    return GrantPage(
        items=await grants.grant_outs(rows), page=page, page_size=page_size, total=total
    )


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            list_policies,
            read_policy,
            create_policy,
            revise_policy,
            publish_policy,
            retire_policy,
            list_policies_admin,
            read_policy_admin,
            preview_policy,
            list_grants_admin,
            read_profile,
            refresh_profile,
            declare_profile,
            list_matches,
            dismiss_match,
            read_interests,
            write_interests,
            my_eligibility,
            list_grants,
            confirm_grant,
            read_company_profile,
            refresh_company_profile,
            declare_company_profile,
            list_company_matches,
            dismiss_company_match,
            read_company_interests,
            write_company_interests,
            company_eligibility,
            list_company_grants,
            confirm_company_grant,
        ],
        tags=["policies"],
    )
