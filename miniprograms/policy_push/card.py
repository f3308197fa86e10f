"""The policy tile of the home screen."""

from __future__ import annotations

from locales import N_, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext
from miniprograms.policy_push import service

TITLE = N_("Policies for you")


async def card(ctx: CardContext) -> Card:
    """How many policies are in force and the newest; once a resident's real name is known
    (the facts policies ask about are theirs), the policies meant for them come here."""
    if not ctx.subject.id_number:
        return real_name_card(
            "policy_push", TITLE, N_("Verify your real name to see the policies meant for you.")
        )
    newest, total = await service.newest(audience="resident")
    summary = (
        gettext(N_("{count} policies in force · newest: {title}"), count=total, title=newest)
        if newest
        else gettext(N_("No policies published yet."))
    )
    return Card(
        id="policy_push",
        title=gettext(TITLE),
        summary=summary,
        actions=[
            CardAction(id="browse", label=gettext(N_("Browse policies")), href="/api/v1/policies")
        ],
    )
