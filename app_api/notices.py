"""The notifications room, wired to what app_api knows: who a recipient is, who receives for
them, the templates of every installed mini-program, and the outbox each program is handed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app_api.identity.models import Delegation, EnterpriseAdmin, Resident
from app_api.settings import Settings, SettingsError
from integrations.sandbox.google_oauth import (
    development_service_account,
    is_development_service_account,
)
from locales import N_
from miniprograms.contract import MiniProgram
from notifications.channels import Channel
from notifications.channels.push import PushChannel
from notifications.channels.sms import SmsChannel
from notifications.channels.webhook import WebhookChannel
from notifications.dispatcher import Dispatcher
from notifications.models import Device, Preference
from notifications.outbox import DIGEST_TEMPLATE, Outbox
from notifications.rules import Recipient
from notifications.templates import Template
from notifications.webhooks import DISABLED_TEMPLATE, disabled_notice, secrets_from

RECEIVE_SCOPE = "receive_notifications"

CORE_TEMPLATES: dict[str, Template] = {
    DIGEST_TEMPLATE: Template(
        title=N_("More messages for you"),
        body=N_("More messages came for you on {day}. Open your inbox to read them."),
        elderly_body=N_("You have new messages. Open the app to read them."),
        sms_template="NOTICE",
    ),
    DISABLED_TEMPLATE: Template(
        title=N_("Your webhook was turned off"),
        body=N_(
            "We could not deliver messages to your webhook {url} for 24 hours, so we turned it off. Fix the receiver, then register it again."
        ),
    ),
}


def templates(programs: Sequence[MiniProgram]) -> dict[str, Template]:
    """Every template by its key: the core ones, and each program's as ``<slug>.<key>``."""
    found = dict(CORE_TEMPLATES)
    for program in programs:
        for key, template in program.templates.items():
            found[f"{program.slug}.{key}"] = template
    return found


async def recipient(account_id: str) -> Recipient:
    """What the rules need of a resident: language, phone, devices and preferences."""
    row = await Resident.get_or_none(id=uuid.UUID(account_id))
    preferences = await Preference.filter(account_id=account_id).values_list(
        "category", "channel", "enabled"
    )
    return Recipient(
        account_id=account_id,
        locale=row.preferred_locale if row else "zh_Hans",
        # Elderly mode arrives with its own preference (the elderly-mode issue); until then
        # nobody is in it, and the standard quiet hours apply.
        elderly=False,
        phone=row.phone if row else None,
        has_device=await Device.filter(account_id=account_id).exists(),
        preferences={(category, channel): enabled for category, channel, enabled in preferences},
    )


async def relatives(account_id: str) -> list[str]:
    """The relatives an elder lets receive their notifications (亲情代办), still in force."""
    grants = await Delegation.filter(
        grantor_id=uuid.UUID(account_id), revoked_at__isnull=True, expires_at__gt=datetime.now(UTC)
    )
    return sorted({str(g.grantee_id) for g in grants if RECEIVE_SCOPE in (g.scopes or [])})


async def enterprise_admins(enterprise_id: str) -> list[str]:
    """The account ids of the residents who administer an enterprise."""
    rows = await EnterpriseAdmin.filter(enterprise_id=uuid.UUID(enterprise_id))
    return sorted(str(row.resident_id) for row in rows)  # type: ignore[attr-defined]


def build_outbox(programs: Sequence[MiniProgram], *, daily_cap: int) -> Outbox:
    return Outbox(templates(programs), recipient, relatives, daily_cap=daily_cap)


def notify_for(program: MiniProgram, outbox: Outbox) -> Callable[..., Awaitable[bool]]:
    """A program's ``notify``: its own templates only, named without its slug."""
    own = set(program.templates)

    async def notify(
        recipient_id: str,
        category: str,
        template: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        **options: Any,
    ) -> bool:
        if template not in own:
            raise LookupError(
                f"mini-program {program.slug!r} has no notification template {template!r}"
            )
        return await outbox.notify(
            recipient_id,
            category,
            f"{program.slug}.{template}",
            params,
            f"{program.slug}:{idempotency_key}",
            **options,
        )

    return notify


def fcm_account(settings: Settings) -> dict[str, Any]:
    """The Firebase service-account key. Outside production a missing one is made (a
    development key that only the sandbox trusts) and pointed at the sandbox's token endpoint."""
    path = Path(settings.fcm_service_account)
    if not path.exists():
        if settings.env == "production":
            raise SettingsError(f"SUPERAPP_FCM_SERVICE_ACCOUNT: no key file at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        made = development_service_account(settings.fcm_base_url, settings.fcm_project_id)
        path.write_text(json.dumps(made))
        path.chmod(0o600)
    info: dict[str, Any] = json.loads(path.read_text())
    if is_development_service_account(info):
        if settings.env == "production":
            raise SettingsError("SUPERAPP_FCM_SERVICE_ACCOUNT is a development key")
        info["token_uri"] = f"{settings.fcm_base_url.rstrip('/')}/token"  # wherever it listens
    return info


def build_dispatcher(services: Any, programs: Sequence[MiniProgram]) -> Dispatcher:
    """The dispatcher over the channels this process reaches: push (FCM) and SMS."""
    settings: Settings = services.settings
    channels: dict[str, Channel] = {
        "sms": SmsChannel(services.sms),
        "push": PushChannel(
            project_id=settings.fcm_project_id,
            service_account=fcm_account(settings),
            fcm_base_url=settings.fcm_base_url or None,
        ),
        # http and private addresses only outside production (a local receiver in tests).
        "webhook": WebhookChannel(
            secrets_from(services.vault), allow_private=settings.env != "production"
        ),
    }
    return Dispatcher(
        channels,
        templates(programs),
        recipient,
        webhook_disabled=disabled_notice(services.outbox, enterprise_admins),
    )


@contextlib.asynccontextmanager
async def dispatching(dispatcher: Dispatcher) -> AsyncIterator[None]:
    """Run the dispatcher in the background while the block runs (worker processes only)."""
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop), name="notification-dispatcher")
    try:
        yield
    finally:
        stop.set()
        await task
        for channel in dispatcher.channels.values():
            await channel.close()
