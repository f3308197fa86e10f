"""/api/v1/policies (anyone may read the library) and /api/v1/admin/policies (operators).

The router sits at the root of the API so that both halves keep their natural paths."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar import Router, get, post, put
from litestar.params import Parameter

from miniprograms.access import operator, public
from miniprograms.common import PageNo, PageSize
from miniprograms.contract import Actor
from miniprograms.policy_push import service
from miniprograms.policy_push.schemas import (
    Audience,
    Category,
    PolicyAdminOut,
    PolicyIn,
    PolicyOut,
    PolicyPage,
    PublishIn,
)

EDIT = operator("policy_editor")
PUBLISH = operator("policy_publisher")
READ_ADMIN = operator("policy_editor", "policy_publisher", "auditor")
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
    policy_id: str, data: PublishIn, actor: Actor, today: date
) -> PolicyAdminOut:
    policy = await service.publish(policy_id, data.version, actor.account_id)
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
        ],
        tags=["policies"],
    )
