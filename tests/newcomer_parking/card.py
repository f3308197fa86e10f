"""The parking home card."""

from __future__ import annotations

from integrations.provincial import UpstreamRejected
from locales import N_, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext, day
from tests.newcomer_parking.upstream import provide_parking


async def card(ctx: CardContext) -> Card:
    if not ctx.subject.id_number:
        return real_name_card(
            "newcomer_parking", N_("Parking"), N_("Verify your real name to see your permits.")
        )
    title = gettext(N_("Parking"))
    try:
        fetched = await provide_parking(ctx.clients).permits(
            ctx.subject.id_number, audit=ctx.audit, purpose="home.card"
        )
    except UpstreamRejected:
        return Card(id="newcomer_parking", title=title, summary=gettext(N_("No parking permit.")))
    items = sorted(fetched.data.items, key=lambda p: p.valid_until)
    return Card(
        id="newcomer_parking",
        title=title,
        summary=gettext(
            N_("Permits: {count}; the first ends on {until}."),
            count=len(items),
            until=day(items[0].valid_until).display,
        ),
        status="degraded" if fetched.stale else "ok",
        as_of=fetched.as_of,
        actions=[
            CardAction(
                id="permits", label=gettext(N_("My permits")), href="/api/v1/parking/permits"
            )
        ],
    )
