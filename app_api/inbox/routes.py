"""/api/v1/notifications (the in-app inbox), /api/v1/devices and /api/v1/notification-preferences."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from litestar import Router, delete, get, post, put
from tortoise.expressions import RawSQL
from tortoise.transactions import in_transaction

from app_api.auth.sessions import Principal
from app_api.deps import AuditFn
from app_api.errors import Problem
from app_api.inbox.schemas import (
    DeviceOut,
    DeviceRequest,
    Marked,
    MessageOut,
    MessagePage,
    PreferenceOut,
    Preferences,
    PreferencesRequest,
    UnreadCount,
)
from app_api.services import Services
from locales import current
from miniprograms.access import resident
from miniprograms.common import PageNo, PageSize, path_id
from notifications.models import CATEGORIES, Device, Notification, Preference
from notifications.rules import ALWAYS_ON
from notifications.templates import render

INBOX = resident(scope="receive_notifications")  # a relative may read an elder's inbox
OWN = resident()


def _message(row: Notification, services: Services) -> MessageOut:
    template = services.outbox.templates.get(row.template)
    text = render(template, row.params, locale=current(), elderly=False) if template else None
    return MessageOut(
        id=str(row.id),
        category=row.category,  # type: ignore[arg-type]
        priority=row.priority,  # type: ignore[arg-type]
        title=text.title if text else "",
        body=text.body if text else "",
        link=row.link,
        created_at=row.created_at,
        read=row.read_at is not None,
        on_behalf_of=str(row.on_behalf_of) if row.on_behalf_of else None,
    )


@get("/notifications", opt={"access": INBOX}, summary="My messages (unread first, newest first)")
async def inbox(
    subject_id: str,
    services: Services,
    audit: AuditFn,
    page: PageNo = 1,
    page_size: PageSize = 20,
    order: Literal["unread_first", "newest"] = "unread_first",
) -> MessagePage:
    mine = Notification.filter(recipient_id=subject_id)
    # Unread first, spelt out: PostgreSQL sorts NULL read_at last, SQLite first.
    unread = RawSQL("CASE WHEN read_at IS NULL THEN 1 ELSE 0 END")
    ordering = ("-created_at",) if order == "newest" else ("-unread", "-created_at")
    listed = mine.annotate(unread=unread).order_by(*ordering)
    rows = await listed.offset((page - 1) * page_size).limit(page_size)
    await audit("notifications.list", "/api/v1/notifications", "inbox")
    return MessagePage(
        items=[_message(row, services) for row in rows],
        page=page,
        page_size=page_size,
        total=await mine.count(),
        unread=await mine.filter(read_at__isnull=True).count(),
    )


@get("/notifications/unread-count", opt={"access": INBOX}, summary="The badge")
async def unread_count(subject_id: str, audit: AuditFn) -> UnreadCount:
    count = await Notification.filter(recipient_id=subject_id, read_at__isnull=True).count()
    await audit("notifications.unread_count", "/api/v1/notifications/unread-count", "inbox")
    return UnreadCount(unread=count)


@post(
    "/notifications/{message_id:str}/read",
    opt={"access": INBOX, "problems": ("not_found",)},
    status_code=200,
    summary="Mark one message read",
)
async def mark_read(
    message_id: str, subject_id: str, services: Services, audit: AuditFn
) -> MessageOut:
    key = path_id(message_id)
    row = await Notification.get_or_none(id=key, recipient_id=subject_id)
    if row is None:
        raise Problem("not_found")
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        await Notification.filter(id=key, read_at__isnull=True).update(read_at=row.read_at)
    await audit("notifications.read", f"/api/v1/notifications/{key}", "inbox")
    return _message(row, services)


@post(
    "/notifications/read-all",
    opt={"access": INBOX, "problems": ("not_found",)},
    status_code=200,
    summary="Mark all read (up to a message the reader has seen)",
)
async def mark_all_read(
    subject_id: str, principal: Principal, audit: AuditFn, up_to: str | None = None
) -> Marked:
    """``up_to``: the newest message the reader was shown; one that arrived since stays
    unread. A relative's "read all" leaves the elder's ``security`` messages for her."""
    unread = Notification.filter(recipient_id=subject_id, read_at__isnull=True)
    if up_to is not None:
        seen = await Notification.get_or_none(id=path_id(up_to), recipient_id=subject_id)
        if seen is None:
            raise Problem("not_found")
        unread = unread.filter(created_at__lte=seen.created_at)
    if principal.account_id != subject_id:
        unread = unread.exclude(category="security")
    marked = await unread.update(read_at=datetime.now(UTC))
    await audit("notifications.read_all", "/api/v1/notifications/read-all", "inbox")
    return Marked(marked=marked)


@post("/devices", opt={"access": OWN}, status_code=201, summary="Receive pushes on this phone")
async def register_device(data: DeviceRequest, principal: Principal) -> DeviceOut:
    # A token names one app install (a secret only that phone holds): registered again, it
    # keeps its id and moves to whoever signed in on it now. One upsert, so twenty
    # registrations at once leave one row, and every answer names it.
    await Device.bulk_create(
        [
            Device(
                id=uuid.uuid4(),
                account_id=principal.account_id,
                token=data.token,
                platform=data.platform,
                session_family=principal.family_id,
            )
        ],
        on_conflict=["token"],
        update_fields=["account_id", "platform", "session_family"],
    )
    row = await Device.get(token=data.token)
    return DeviceOut(id=str(row.id), platform=row.platform, created_at=row.created_at)


@delete(
    "/devices/{device_id:str}",
    opt={"access": OWN, "problems": ("not_found",)},
    status_code=204,
    summary="Stop pushes to a phone",
)
async def unregister_device(device_id: str, principal: Principal) -> None:
    key = path_id(device_id)
    if not await Device.filter(id=key, account_id=principal.account_id).delete():
        raise Problem("not_found")


async def _preferences(account_id: str) -> Preferences:
    chosen = {
        (p.category, p.channel): p.enabled for p in await Preference.filter(account_id=account_id)
    }
    return Preferences(
        items=[
            PreferenceOut(
                category=category,  # type: ignore[arg-type]
                channel=channel,  # type: ignore[arg-type]
                enabled=category in ALWAYS_ON or chosen.get((category, channel), True),
                locked=category in ALWAYS_ON,
            )
            for category in CATEGORIES
            for channel in ("push", "sms")
        ]
    )


@get("/notification-preferences", opt={"access": OWN}, summary="Which messages reach my phone")
async def get_preferences(principal: Principal) -> Preferences:
    return await _preferences(principal.account_id)


@put(
    "/notification-preferences",
    opt={"access": OWN, "problems": ("preference_locked",)},
    summary="Choose which messages reach my phone",
)
async def put_preferences(data: PreferencesRequest, principal: Principal) -> Preferences:
    if any(item.category in ALWAYS_ON and not item.enabled for item in data.items):
        raise Problem("preference_locked")
    async with in_transaction():
        for item in data.items:
            await Preference.update_or_create(
                account_id=principal.account_id,
                category=item.category,
                channel=item.channel,
                defaults={"enabled": item.enabled},
            )
    return await _preferences(principal.account_id)


router = Router(
    path="/api/v1",
    route_handlers=[
        inbox,
        unread_count,
        mark_read,
        mark_all_read,
        register_device,
        unregister_device,
        get_preferences,
        put_preferences,
    ],
    tags=["notifications"],
)
