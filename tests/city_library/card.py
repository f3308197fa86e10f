"""The library's home card."""

from __future__ import annotations

from integrations.provincial import UpstreamRejected
from locales import N_, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext, day
from tests.city_library.upstream import provide_library


async def card(ctx: CardContext) -> Card:
    if not ctx.subject.id_number:
        return real_name_card(
            "city_library", N_("City library"), N_("Verify your real name to see your loans.")
        )
    title = gettext(N_("City library"))
    try:
        fetched = await provide_library(ctx.clients).loans(
            ctx.subject.id_number, audit=ctx.audit, purpose="home.card"
        )
    except UpstreamRejected:
        return Card(id="city_library", title=title, summary=gettext(N_("No library card yet.")))
    items = sorted(fetched.data.items, key=lambda loan: loan.due_on)
    summary = (
        gettext(
            N_("Books on loan: {count}; the next is due on {due}."),
            count=len(items),
            due=day(items[0].due_on).display,
        )
        if items
        else gettext(N_("No books on loan."))
    )
    return Card(
        id="city_library",
        title=title,
        summary=summary,
        status="degraded" if fetched.stale else "ok",
        as_of=fetched.as_of,
        actions=[
            CardAction(id="loans", label=gettext(N_("My loans")), href="/api/v1/library/loans")
        ],
    )
