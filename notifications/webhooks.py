"""Enterprise webhooks as recipients: registration secrets, rendering, the hook's health.

An enterprise message is written once per active hook (:meth:`Outbox.notify_enterprise`):
one :class:`~notifications.models.Notification` with ``recipient_id`` = the enterprise and
the hook's id in its params, and one pending ``webhook`` delivery (a delivery is unique per
notification and channel, so one row per hook keeps each hook's retries its own). The
dispatcher sends it through :class:`~notifications.channels.webhook.WebhookChannel` with
``delivery_id`` = ``<delivery id>:<hook id>``, retries on
:func:`~notifications.channels.webhook.retry_schedule`, and when the 24 h are spent (or the
receiver answers ``410 Gone``, or the URL became refused) disables the hook and tells the
enterprise's administrators.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from notifications.channels.base import Outgoing
from notifications.channels.webhook import SecretFor
from notifications.models import Delivery, Webhook
from notifications.templates import Template, render

HOOK_PARAM = "webhook_id"  # in an enterprise notification's params: which hook it is for
DISABLED_TEMPLATE = "notifications.webhook_disabled"
ENTERPRISE_LOCALE = "zh_Hans"  # a company's systems read the city's language
MAX_HOOKS = 5  # per enterprise: each message is sent, and retried, once per hook
# Why a hook was turned off (``Webhook.disabled_reason``).
REASON_FAILING = "failing_24h"
Admins = Callable[[str], Awaitable[list[str]]]  # enterprise id -> its admins' account ids
Disabled = Callable[[Webhook], Awaitable[None]]


class Vault(Protocol):
    """Seals and opens secrets (app_api's PII vault)."""

    def seal(self, plaintext: str, *, context: str) -> str: ...

    def open(self, token: str, *, context: str) -> str: ...


class Notifier(Protocol):
    """The outbox's ``notify`` (to tell an admin)."""

    async def notify(
        self,
        recipient_id: str,
        category: str,
        template: str,
        params: Mapping[str, object],
        idempotency_key: str,
        **options: Any,
    ) -> bool: ...


def _context(hook_id: uuid.UUID | str) -> str:
    # Bound to the hook: a sealed secret copied onto another row does not open.
    return f"webhook-secret:{hook_id}"


def new_secret(hook_id: uuid.UUID, vault: Vault) -> tuple[str, str]:
    """A fresh signing secret for ``hook_id``: (the secret, shown once; its sealed form)."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    return secret, vault.seal(secret, context=_context(hook_id))


def hook_of(item: Outgoing) -> uuid.UUID | None:
    """The hook an outgoing webhook message is for (its ``delivery_id`` names it last)."""
    try:
        return uuid.UUID(item.delivery_id.rpartition(":")[2])
    except ValueError:
        return None


def secrets_from(vault: Vault) -> SecretFor:
    """``WebhookChannel``'s ``secret_for``: the active hook's opened secret, else None."""

    async def secret_for(item: Outgoing) -> str | None:
        hook_id = hook_of(item)
        hook = await Webhook.get_or_none(id=hook_id, disabled_at__isnull=True) if hook_id else None
        return vault.open(hook.secret_sealed, context=_context(hook.id)) if hook else None

    return secret_for


async def outgoing(delivery: Delivery, templates: Mapping[str, Template]) -> Outgoing | str:
    """The message a ``webhook`` delivery sends, or why it sends none (an error code)."""
    note = delivery.notification
    hook_id = str(note.params.get(HOOK_PARAM, ""))
    hook = await Webhook.get_or_none(id=uuid.UUID(hook_id)) if hook_id else None
    if hook is None:
        return "hook_unknown"
    if hook.disabled_at is not None:
        return "hook_disabled"
    template = templates.get(note.template)
    if template is None:
        return "unknown_template"
    params = {k: v for k, v in note.params.items() if k != HOOK_PARAM}
    text = render(template, params, locale=ENTERPRISE_LOCALE, elderly=False)
    return Outgoing(
        delivery_id=f"{delivery.id}:{hook.id}",
        recipient_id=str(note.recipient_id),
        address=hook.url,
        title=text.title,
        body=text.body,
        link=note.link,
        category=note.category,
        priority=note.priority,  # type: ignore[arg-type]
    )


def hook_for(delivery: Delivery) -> uuid.UUID | None:
    """The hook a claimed ``webhook`` delivery is for."""
    hook_id = delivery.notification.params.get(HOOK_PARAM)
    return uuid.UUID(str(hook_id)) if hook_id else None


async def succeeded(hook_id: uuid.UUID) -> None:
    """A 2xx: the hook is healthy again."""
    await Webhook.filter(id=hook_id, failing_since__isnull=False).update(failing_since=None)


async def failing(hook_id: uuid.UUID, now: datetime) -> None:
    """A failed attempt: remember since when the hook has been failing."""
    await Webhook.filter(id=hook_id, failing_since__isnull=True).update(failing_since=now)


async def disable(hook_id: uuid.UUID, reason: str, now: datetime) -> Webhook | None:
    """Turn the hook off; the hook if this call did it (None if it was off already)."""
    done = await Webhook.filter(id=hook_id, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason[:32]
    )
    return await Webhook.get(id=hook_id) if done else None


def disabled_notice(outbox: Notifier, admins: Admins) -> Disabled:
    """What the dispatcher calls when it turns a hook off: an inbox message to each admin
    of the enterprise, once per hook (the key names the hook and the admin)."""

    async def notice(hook: Webhook) -> None:
        for admin in await admins(str(hook.enterprise_id)):
            await outbox.notify(
                admin,
                "service_status",
                DISABLED_TEMPLATE,
                {"url": hook.url},
                f"webhook-disabled:{hook.id}:{admin}",
            )

    return notice
