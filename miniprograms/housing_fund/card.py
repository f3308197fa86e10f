"""The housing fund tile of the home screen."""

from __future__ import annotations

import asyncio

from integrations.provincial import UpstreamRejected
from locales import N_, format_money, gettext
from miniprograms.common import real_name_card
from miniprograms.contract import Card, CardAction, CardContext, day
from miniprograms.housing_fund import labels
from miniprograms.housing_fund.upstream import housing_fund_client

TITLE = N_("Housing fund")
PURPOSE = "home_screen"


async def card(ctx: CardContext) -> Card:
    """Balance and account status, and the next loan instalment when there is a loan."""
    title = gettext(TITLE)
    if not ctx.subject.id_number:
        return real_name_card(
            "housing_fund", TITLE, N_("Verify your real name to see your housing fund.")
        )
    client = housing_fund_client(ctx.clients)
    account, loan = await asyncio.gather(
        client.account(ctx.subject.id_number, audit=ctx.audit, purpose=PURPOSE),
        client.loan(ctx.subject.id_number, audit=ctx.audit, purpose=PURPOSE),
        return_exceptions=True,
    )
    if isinstance(account, UpstreamRejected):
        return Card(
            id="housing_fund", title=title, summary=gettext(N_("You have no housing fund account."))
        )
    if isinstance(account, BaseException):
        raise account
    summary = gettext(
        N_("Balance {balance} · {status}"),
        balance=format_money(account.data.balance_fen),
        status=gettext(labels.ACCOUNT_STATUS[account.data.status]),
    )
    stale, as_of = account.stale, account.as_of
    actions = [
        CardAction(
            id="transactions",
            label=gettext(N_("Transactions")),
            href="/api/v1/housing-fund/transactions",
        )
    ]
    if not isinstance(loan, BaseException):
        summary += gettext(
            N_(" · next instalment {amount} on {date}"),
            amount=format_money(loan.data.next_instalment.amount_fen),
            date=day(loan.data.next_instalment.due_on).display,
        )
        stale, as_of = stale or loan.stale, min(as_of, loan.as_of)
        actions.append(
            CardAction(id="loan", label=gettext(N_("Loan")), href="/api/v1/housing-fund/loan")
        )
    elif not isinstance(loan, UpstreamRejected):
        stale = True  # the loan part could not be read; the balance still stands
    if account.data.withdrawable_fen > 0:
        actions.append(
            CardAction(
                id="withdraw",
                label=gettext(N_("Withdraw")),
                href="/api/v1/housing-fund/withdrawals",
            )
        )
    return Card(
        id="housing_fund",
        title=title,
        summary=summary,
        status="degraded" if stale else "ok",
        as_of=as_of,
        actions=actions,
    )
