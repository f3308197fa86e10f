"""The notifications room, wired to what app_api knows: who a recipient is, who receives for
them, the templates of every installed mini-program, and the outbox each program is handed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from app_api.identity.models import Delegation, EnterpriseAdmin, Resident
from app_api.settings import Settings, SettingsError
from integrations.sandbox.google_oauth import (
    development_service_account,
    is_development_service_account,
)
from locales import N_
from miniprograms.contract import MiniProgram
from notifications.addressed import Addressed
from notifications.channels import Channel
from notifications.channels.base import batches
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
TEST_TEMPLATE = "notifications.test"  # `superapp notify test`: does a message reach them?
LOOKUP_CHUNK = 1000  # account ids per query (bounded SQL parameters)

CORE_TEMPLATES: dict[str, Template] = {
    DIGEST_TEMPLATE: Template(
        title=N_("More messages for you"),
        body=N_("More messages came for you on {day}. Open your inbox to read them."),
        elderly_body=N_("You have new messages. Open the app to read them."),
        sms_template="NOTICE",
    ),
    TEST_TEMPLATE: Template(
        title=N_("Test message"),
        body=N_(
            "This is a test message from the city app. If you can read it, messages reach you."
        ),
        elderly_body=N_("This is a test message. Messages reach you."),
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


async def recipients(account_ids: Sequence[str]) -> dict[str, Recipient]:
    """What the rules need of each resident: language, view mode, phone, devices and
    preferences (one query each for all of them; an id that names nobody gets the defaults
    and no phone)."""
    found: dict[str, Recipient] = {}
    for chunk in batches(sorted(set(account_ids)), LOOKUP_CHUNK):
        ids = [uuid.UUID(account) for account in chunk]
        people = {
            str(row[0]): row[1:]
            for row in await Resident.filter(id__in=ids).values_list(
                "id", "preferred_locale", "phone", "view_mode"
            )
        }
        chosen: dict[str, dict[tuple[str, str], bool]] = defaultdict(dict)
        for account, category, channel, enabled in await Preference.filter(
            account_id__in=ids
        ).values_list("account_id", "category", "channel", "enabled"):
            chosen[str(account)][(category, channel)] = enabled
        with_device = {
            str(account)
            for account in await Device.filter(account_id__in=ids)
            .distinct()
            .values_list("account_id", flat=True)
        }
        for account in chunk:
            locale, phone, view_mode = people.get(account, ("zh_Hans", None, "standard"))
            found[account] = Recipient(
                account_id=account,
                locale=locale,
                elderly=view_mode == "elderly",
                phone=phone,
                has_device=account in with_device,
                preferences=chosen.get(account, {}),
            )
    return found


async def relatives(account_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each elder, the relatives she lets receive her notifications (亲情代办), still in
    force; elders with none are left out."""
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in batches(sorted(set(account_ids)), LOOKUP_CHUNK):
        grants = await Delegation.filter(
            grantor_id__in=[uuid.UUID(account) for account in chunk],
            revoked_at__isnull=True,
            expires_at__gt=datetime.now(UTC),
        ).values_list("grantor_id", "grantee_id", "scopes")
        for grantor, grantee, scopes in grants:
            if RECEIVE_SCOPE in (scopes or []):
                found[str(grantor)].add(str(grantee))
    return {elder: sorted(theirs) for elder, theirs in found.items()}


async def enterprise_admins(enterprise_id: str) -> list[str]:
    """The account ids of the residents who administer an enterprise."""
    rows = await EnterpriseAdmin.filter(enterprise_id=uuid.UUID(enterprise_id))
    return sorted(str(row.resident_id) for row in rows)  # type: ignore[attr-defined]


def build_outbox(programs: Sequence[MiniProgram], *, daily_cap: int) -> Outbox:
    return Outbox(templates(programs), recipients, relatives, daily_cap=daily_cap)


class Programmed(NamedTuple):
    """A program's ways to write to the outbox (see :class:`miniprograms.contract.Runtime`)."""

    notify: Callable[..., Awaitable[bool]]
    notify_many: Callable[..., Awaitable[int]]
    notify_enterprise: Callable[..., Awaitable[int]]


def notify_for(program: MiniProgram, outbox: Outbox) -> Programmed:
    """A program's ``notify``, ``notify_many`` and ``notify_enterprise``: its own templates
    only, named without its slug; its keys are its own (prefixed with the slug), so programs
    cannot collide."""

    def own(template: str) -> str:
        if template not in program.templates:
            raise LookupError(
                f"mini-program {program.slug!r} has no notification template {template!r}"
            )
        return f"{program.slug}.{template}"

    async def notify(
        recipient_id: str,
        category: str,
        template: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        **options: Any,
    ) -> bool:
        name = own(template)
        key = f"{program.slug}:{idempotency_key}"
        return await outbox.notify(recipient_id, category, name, params, key, **options)

    async def notify_many(
        addressed: Sequence[Addressed],
        category: str,
        template: str,
        params: Mapping[str, Any],
        **options: Any,
    ) -> int:
        name = own(template)
        keyed = [
            Addressed(a.recipient_id, f"{program.slug}:{a.idempotency_key}", a.params)
            for a in addressed
        ]
        return await outbox.notify_many(keyed, category, name, params, **options)

    async def notify_enterprise(
        enterprise_id: str,
        category: str,
        template: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        **options: Any,
    ) -> int:
        # Each administrator as a resident (their devices, quiet hours, language), keyed per
        # person so that a repeat writes nothing; then the company's own systems.
        admins = await enterprise_admins(enterprise_id)
        addressed = [
            Addressed(admin, f"{idempotency_key}:{uuid.UUID(admin).hex}") for admin in admins
        ]
        new = await notify_many(addressed, category, template, params, **options)
        key = f"{program.slug}:{idempotency_key}"
        hooked = await outbox.notify_enterprise(
            enterprise_id, category, own(template), params, key, **options
        )
        return new + int(hooked)

    return Programmed(notify, notify_many, notify_enterprise)


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
        recipients,
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
