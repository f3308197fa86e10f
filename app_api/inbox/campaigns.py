"""/api/v1/admin/notification-campaigns/{campaign}: how one campaign's messages fared.

A campaign is the ``campaign`` name a sender gave its notifications (a policy's publication,
an announcement). Operators who publish see counts only, never who received what.
"""

from __future__ import annotations

from litestar import Router, get
from tortoise.functions import Count

from app_api.errors import Problem
from app_api.schemas import Out
from miniprograms.access import operator
from notifications.models import CHANNELS, DELIVERY_STATES, Delivery, Notification

CAMPAIGN_LENGTH = Notification._meta.fields_map["campaign"].max_length  # type: ignore[attr-defined]


class ChannelCounts(Out):
    channel: str
    pending: int
    sent: int
    delivered: int
    skipped: int
    failed: int


class CampaignOut(Out):
    campaign: str
    notifications: int
    read: int
    channels: list[ChannelCounts]


@get(
    "/{campaign:str}",
    opt={"access": operator("policy_publisher", "auditor"), "problems": ("not_found",)},
    summary="Queued, delivered, failed and read counts of one notification campaign",
)
async def campaign_counts(campaign: str) -> CampaignOut:
    if len(campaign) > CAMPAIGN_LENGTH:  # no campaign has so long a name
        raise Problem("not_found")
    total = await Notification.filter(campaign=campaign).count()
    if not total:
        raise Problem("not_found")
    read = await Notification.filter(campaign=campaign, read_at__isnull=False).count()
    rows = (
        await Delivery.filter(notification__campaign=campaign)
        .annotate(n=Count("id"))
        .group_by("channel", "status")
        .values_list("channel", "status", "n")
    )
    counts = {(channel, status): n for channel, status, n in rows}
    return CampaignOut(
        campaign=campaign,
        notifications=total,
        read=read,
        channels=[
            ChannelCounts(
                channel=channel,
                **{state: counts.get((channel, state), 0) for state in DELIVERY_STATES},
            )
            for channel in CHANNELS
        ],
    )


router = Router(
    path="/api/v1/admin/notification-campaigns",
    route_handlers=[campaign_counts],
    tags=["notifications"],
)
