"""The policy tile of the home screen."""

from __future__ import annotations

from locales import N_, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext
from miniprograms.policy_push import personal, service

TITLE = N_("Policies for you")


async def card(ctx: CardContext) -> Card:
    """How many policies are in force and the newest; once a resident's real name is known
    (the facts policies ask about are theirs), the policies meant for them come here."""
    if not ctx.subject.id_number:
        return real_name_card(
            "policy_push", TITLE, N_("Verify your real name to see the policies meant for you.")
        )
    found, waiting = await personal.counts(ctx.subject.resident_id)
    actions = [
        CardAction(id="browse", label=gettext(N_("Browse policies")), href="/api/v1/policies")
    ]
    if found:
        # 政策找人: what was found for them comes before the library.
        summary = gettext(N_("{count} policies found for you"), count=found)
        if waiting:
            summary += " · " + gettext(
                N_("{count} benefits waiting for your confirmation"), count=waiting
            )
            actions.insert(
                0,
                CardAction(
                    id="grants", label=gettext(N_("Confirm benefits")), href="/api/v1/grants"
                ),
            )
        actions.insert(
            0,
            CardAction(id="matches", label=gettext(N_("See why")), href="/api/v1/policies/matches"),
        )
        return Card(id="policy_push", title=gettext(TITLE), summary=summary, actions=actions[:2])
    newest, total = await service.newest(audience="resident")
    summary = (
        gettext(N_("{count} policies in force · newest: {title}"), count=total, title=newest)
        if newest
        else gettext(N_("No policies published yet."))
    )
    return Card(id="policy_push", title=gettext(TITLE), summary=summary, actions=actions)
