"""The rules people feel: which channels, and when. Plain functions over plain values.

- ``security`` messages cannot be switched off; every other category follows the
  recipient's preference per channel (absent: on).
- Push goes to residents with a registered device; SMS to ``urgent`` and ``security``
  messages, and to residents without a device (many elderly people have none).
- Quiet hours in the recipient's time zone: 21:00-08:00 in elderly mode, 22:00-07:00
  otherwise. ``normal`` pushes and SMS wait until the morning; urgent and security ones go
  at once; the inbox has everything at once.
- At most ``daily_cap`` ``policy`` and ``announcement`` messages a day reach a phone; past
  that they are kept in the inbox and told in one digest the next morning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

ALWAYS_ON = frozenset({"security"})
CAPPED = frozenset({"policy", "announcement"})
QUIET_ELDERLY = (time(21), time(8))
QUIET_STANDARD = (time(22), time(7))
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Recipient:
    """What the rules need to know of the person a message is for."""

    account_id: str
    locale: str = "zh_Hans"
    elderly: bool = False
    tz: ZoneInfo = CHINA
    phone: str | None = None
    has_device: bool = False
    # (category, channel) -> enabled; absent pairs are on.
    preferences: Mapping[tuple[str, str], bool] = field(default_factory=dict)


def wants(recipient: Recipient, category: str, channel: str) -> bool:
    """Whether the recipient lets ``category`` reach them on ``channel``."""
    if category in ALWAYS_ON:
        return True
    return recipient.preferences.get((category, channel), True)


def channels_for(recipient: Recipient, category: str, priority: str) -> set[str]:
    """The phone channels a message goes out on (the inbox always has it)."""
    chosen: set[str] = set()
    if recipient.has_device and wants(recipient, category, "push"):
        chosen.add("push")
    pressing = priority == "urgent" or category == "security"
    if (
        recipient.phone
        and (pressing or not recipient.has_device)
        and wants(recipient, category, "sms")
    ):
        chosen.add("sms")
    return chosen


def quiet_until(now: datetime, recipient: Recipient) -> datetime | None:
    """The end of the recipient's quiet hours if ``now`` falls in them, else None."""
    start, end = QUIET_ELDERLY if recipient.elderly else QUIET_STANDARD
    local = now.astimezone(recipient.tz)
    clock = local.time()
    if start <= clock or clock < end:  # the night spans midnight
        morning = local if clock < end else local + timedelta(days=1)
        return datetime.combine(morning.date(), end, tzinfo=recipient.tz)
    return None


def send_at(now: datetime, recipient: Recipient, category: str, priority: str) -> datetime:
    """When a phone channel may send: now, or for a normal message the end of quiet hours."""
    if priority == "urgent" or category == "security":
        return now
    return quiet_until(now, recipient) or now


def day_of(moment: datetime, recipient: Recipient) -> str:
    """The recipient's calendar day of ``moment`` (for the daily cap and the digest key)."""
    return moment.astimezone(recipient.tz).date().isoformat()


def next_morning(now: datetime, recipient: Recipient) -> datetime:
    """When the digest of today's capped messages goes out: the end of the next quiet hours."""
    end = (QUIET_ELDERLY if recipient.elderly else QUIET_STANDARD)[1]
    local = now.astimezone(recipient.tz)
    morning = local.date() + timedelta(days=0 if local.time() < end else 1)
    return datetime.combine(morning, end, tzinfo=recipient.tz)
