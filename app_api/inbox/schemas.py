"""What the inbox, device and preference routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app_api.schemas import Body, Out

Category = Literal["policy", "service_status", "transit", "security", "announcement"]
PhoneChannel = Literal["push", "sms"]


class MessageOut(Out):
    id: str
    category: Category
    priority: Literal["normal", "urgent"]
    title: str
    body: str
    link: str | None  # the screen it is about (a route of the mini-program that sent it)
    created_at: datetime
    read: bool
    on_behalf_of: str | None  # a relative's copy of an elder's urgent message names the elder


class MessagePage(Out):
    items: list[MessageOut]
    page: int
    page_size: int
    total: int
    unread: int


class UnreadCount(Out):
    unread: int


class Marked(Out):
    marked: int


class DeviceRequest(Body):
    token: Annotated[str, msgspec.Meta(min_length=20, max_length=512, pattern=r"^[!-~]+$")]
    platform: Literal["android", "ios", "harmony"]


class DeviceOut(Out):
    id: str
    platform: str
    created_at: datetime


class PreferenceItem(Body):
    category: Category
    channel: PhoneChannel
    enabled: bool


class PreferencesRequest(Body):
    items: Annotated[list[PreferenceItem], msgspec.Meta(min_length=1, max_length=20)]


class PreferenceOut(Out):
    category: Category
    channel: PhoneChannel
    enabled: bool
    locked: bool  # security messages cannot be switched off


class Preferences(Out):
    items: list[PreferenceOut]
