"""The social security tile of the home screen."""

from __future__ import annotations

import asyncio

from locales import N_, format_money, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext
from miniprograms.social_security import labels
from miniprograms.social_security.upstream import social_security_client

TITLE = N_("Social security")
PURPOSE = "home_screen"


def _action(action_id: str, label: str, path: str) -> CardAction:
    return CardAction(id=action_id, label=gettext(label), href=f"/api/v1/social-security/{path}")


async def card(ctx: CardContext) -> Card:
    """Pension status and months paid; a retiree sees their latest pension instead."""
    if not ctx.subject.id_number:
        return real_name_card(
            "social_security", TITLE, N_("Verify your real name to see your social security.")
        )
    client = social_security_client(ctx.clients)
    # Both at once: one provincial round trip whether or not the resident is retired.
    fetched, payments = await asyncio.gather(
        client.summary(ctx.subject.id_number, audit=ctx.audit, purpose=PURPOSE),
        client.pension_payments(ctx.subject.id_number, 1, 1, audit=ctx.audit, purpose=PURPOSE),
        return_exceptions=True,
    )
    if isinstance(fetched, BaseException):
        raise fetched
    pension = next(i for i in fetched.data.insured if i.type == "pension")
    stale, as_of = fetched.stale, fetched.as_of
    actions = [_action("contributions", N_("Contribution records"), "contributions")]
    if pension.status == "receiving":
        summary = gettext(N_("Receiving a pension"))
        if isinstance(payments, BaseException):
            stale = True  # the status stands; the amount could not be read
        else:
            stale, as_of = stale or payments.stale, min(as_of, payments.as_of)
            if payments.data.items:
                amount = format_money(payments.data.items[0].amount_fen)
                summary += gettext(N_(" · last paid {amount}"), amount=amount)
        actions.append(_action("pension", N_("Pension payments"), "pension-payments"))
    else:
        summary = gettext(
            N_("{status} · {months} months paid"),
            status=gettext(labels.STATUS[pension.status]),
            months=fetched.data.months_paid,
        )
    actions.append(_action("certificate", N_("Get a contribution certificate"), "certificates"))
    return Card(
        id="social_security",
        title=gettext(TITLE),
        summary=summary,
        status="degraded" if stale else "ok",
        as_of=as_of,
        actions=actions,
    )
