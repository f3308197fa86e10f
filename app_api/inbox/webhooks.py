"""/api/v1/enterprises/{credit_code}/webhooks: an enterprise admin's webhooks.

The enterprise is named by its unified social credit code, as in
``GET /api/v1/enterprises/{credit_code}`` and ``/me`` (the code is what the client knows).
Only its administrators, past the second factor, manage its hooks; anyone else gets
``forbidden``, whether or not the enterprise exists (no probing for who is registered).
The signing secret is answered once, when the hook is created; see
:mod:`notifications.channels.webhook` for what a receiver gets and how to verify it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Router, delete, get, post
from tortoise.transactions import in_transaction

from app_api.auth.sessions import Principal
from app_api.deps import AuditFn
from app_api.errors import Problem
from app_api.identity.models import Enterprise, EnterpriseAdmin
from app_api.identity.numbers import NumberError, validate_credit_code
from app_api.schemas import Body, Out
from app_api.services import Services
from miniprograms.access import resident
from miniprograms.common import path_id
from notifications.models import Webhook
from notifications.ssrf import WebhookUrlRefused, check_webhook_url
from notifications.webhooks import MAX_HOOKS, new_secret

ADMIN = resident(aal=2)  # an enterprise admin acts for the company only after TOTP


class WebhookRequest(Body):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2048)]


class WebhookOut(Out):
    id: str
    url: str
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    # HMAC-SHA256 key for X-Superapp-Signature: shown only in this answer, never again.
    secret: str


class WebhookList(Out):
    items: list[WebhookOut]


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=str(hook.id),
        url=hook.url,
        created_at=hook.created_at,
        failing_since=hook.failing_since,
        disabled_at=hook.disabled_at,
        disabled_reason=hook.disabled_reason,
    )


async def _administered(credit_code: str, principal: Principal) -> Enterprise:
    """The enterprise the caller administers, else ``forbidden``."""
    try:
        code = validate_credit_code(credit_code)
    except NumberError:
        raise Problem("forbidden") from None
    enterprise = await Enterprise.get_or_none(credit_code=code)
    if enterprise is None or not await EnterpriseAdmin.exists(
        enterprise_id=enterprise.id, resident_id=principal.account_id
    ):
        raise Problem("forbidden")
    return enterprise


@post(
    "/enterprises/{credit_code:str}/webhooks",
    opt={
        "access": ADMIN,
        "problems": ("forbidden", "webhook_url_refused", "webhook_limit_reached"),
    },
    status_code=201,
    summary="Register a webhook (its signing secret is shown once)",
)
async def create_webhook(
    credit_code: str,
    data: WebhookRequest,
    principal: Principal,
    services: Services,
    audit: AuditFn,
) -> WebhookCreated:
    enterprise = await _administered(credit_code, principal)
    try:
        # http and private addresses only outside production (a local receiver in tests).
        await check_webhook_url(data.url, allow_private=services.settings.env != "production")
    except WebhookUrlRefused as exc:
        raise Problem(
            "webhook_url_refused", errors=[{"field": "url", "reason": exc.reason}]
        ) from None
    hook_id = uuid.uuid4()
    secret, sealed = new_secret(hook_id, services.vault)
    async with in_transaction():
        # Registrations for one enterprise take turns (its row locked on PostgreSQL), or
        # twenty at once would each count four and all be created.
        await Enterprise.select_for_update().get(id=enterprise.id)
        active = Webhook.filter(enterprise_id=enterprise.id, disabled_at__isnull=True)
        if await active.count() >= MAX_HOOKS:
            raise Problem("webhook_limit_reached", limit=MAX_HOOKS)
        hook = await Webhook.create(
            id=hook_id,
            enterprise_id=enterprise.id,
            url=data.url,
            secret_sealed=sealed,
            created_by=uuid.UUID(principal.account_id),
        )
    await audit("enterprise.webhook.create", f"enterprise:{enterprise.credit_code}", "webhooks")
    return WebhookCreated(**msgspec.structs.asdict(_out(hook)), secret=secret)


@get(
    "/enterprises/{credit_code:str}/webhooks",
    opt={"access": ADMIN, "problems": ("forbidden",)},
    summary="An enterprise's webhooks (without their secrets)",
)
async def list_webhooks(credit_code: str, principal: Principal) -> WebhookList:
    enterprise = await _administered(credit_code, principal)
    hooks = await Webhook.filter(enterprise_id=enterprise.id).order_by("created_at")
    return WebhookList(items=[_out(hook) for hook in hooks])


@delete(
    "/enterprises/{credit_code:str}/webhooks/{hook_id:str}",
    opt={"access": ADMIN, "problems": ("forbidden", "not_found")},
    status_code=204,
    summary="Remove a webhook",
)
async def delete_webhook(
    credit_code: str, hook_id: str, principal: Principal, audit: AuditFn
) -> None:
    enterprise = await _administered(credit_code, principal)
    key = path_id(hook_id)
    # Its pending deliveries stay and are skipped: the dispatcher finds no hook.
    if not await Webhook.filter(id=key, enterprise_id=enterprise.id).delete():
        raise Problem("not_found")
    await audit("enterprise.webhook.delete", f"enterprise:{enterprise.credit_code}", "webhooks")


router = Router(
    path="/api/v1",
    route_handlers=[create_webhook, list_webhooks, delete_webhook],
    tags=["enterprise"],
)
