"""The social security tile of the home screen."""

from __future__ import annotations

from locales import N_, format_money, gettext
from miniprograms.contract import Card, CardAction, CardContext
from miniprograms.social_security import labels

TITLE = N_("Social security")
PURPOSE = "home_screen"


async def card(ctx: CardContext) -> Card:
    """Pension status and months paid; a retiree sees their pension instead."""
    actions = [
        CardAction(
            id="contributions",
            label=gettext(N_("Contribution records")),
            href="/api/v1/social-security/contributions",
        )
    ]
    if not ctx.subject.id_number:
        return Card(
            id="social_security",
            title=gettext(TITLE),
            summary=gettext(N_("Verify your real name to see your social security.")),
            actions=[
                CardAction(
                    id="verify",
                    label=gettext(N_("Verify real name")),
                    href="/api/v1/profile/identity",
                )
            ],
        )
    fetched = await ctx.provincial.social_summary(
        ctx.subject.id_number, audit=ctx.audit, purpose=PURPOSE
    )
    pension = next(i for i in fetched.data.insured if i.type == "pension")
    stale, as_of = fetched.stale, fetched.as_of
    if pension.status == "receiving":
        payments = await ctx.provincial.pension_payments(
            ctx.subject.id_number, 1, 1, audit=ctx.audit, purpose=PURPOSE
        )
        latest = payments.data.items[0] if payments.data.items else None
        stale, as_of = stale or payments.stale, min(as_of, payments.as_of)
        summary = gettext(N_("Receiving a pension")) + (
            gettext(N_(" · last paid {amount}"), amount=format_money(latest.amount_fen))
            if latest
            else ""
        )
        actions.append(
            CardAction(
                id="pension",
                label=gettext(N_("Pension payments")),
                href="/api/v1/social-security/pension-payments",
            )
        )
    else:
        summary = gettext(
            N_("{status} · {months} months paid"),
            status=gettext(labels.STATUS[pension.status]),
            months=fetched.data.months_paid,
        )
    actions.append(
        CardAction(
            id="certificate",
            label=gettext(N_("Get a contribution certificate")),
            href="/api/v1/social-security/certificates",
        )
    )
    return Card(
        id="social_security",
        title=gettext(TITLE),
        summary=summary,
        status="degraded" if stale else "ok",
        as_of=as_of,
        actions=actions,
    )
