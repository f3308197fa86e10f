"""免申即享: benefits paid without an application, once the person confirms.

A grant is written by matching (one per policy and person). The person confirms it in one
tap; the first confirmation moves it to ``confirmed`` and the request that then holds the
payment lease asks the province to pay, with the grant's id as the idempotency key. Twenty
confirmations at once therefore make one ``confirmed`` grant and one payment request; a
confirmation that met an unavailable province is answered 503, keeps the grant confirmed,
and the next tap pays it, under the same key, so the province never pays twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from tortoise.expressions import Q

from integrations.provincial import AuditHook
from integrations.provincial.errors import UpstreamRejected, UpstreamUnavailable
from locales import format_money, gettext
from miniprograms.common import Problem, path_id
from miniprograms.policy_push import amounts, labels, matching
from miniprograms.policy_push.eligibility import evaluate
from miniprograms.policy_push.models import Grant, Policy, PolicyVersion
from miniprograms.policy_push.profiles import facts
from miniprograms.policy_push.schemas import GrantOut
from miniprograms.policy_push.upstream import BenefitPaymentUpstream

PURPOSE = "policy_grant_payment"
# Longer than one payment call can take (the gateway's whole budget), so a lease is only
# taken over from a request that died.
LEASE = timedelta(seconds=60)


class Payee(NamedTuple):
    """Who a grant is paid to, as the province knows them."""

    kind: str  # resident / enterprise
    number: str  # ID number / unified social credit code


async def confirm(
    grant_id: str,
    payees: Mapping[str, Payee],
    confirmer: str,
    client: BenefitPaymentUpstream,
    audit: AuditHook,
    today: date,
) -> Grant:
    """Confirm one of ``payees``' grants (idempotent) and, when this request wins the
    payment lease, have it paid. Others' grants are not found.

    Before the first confirmation the offer is checked again as it stands today: the policy
    published and in force, its published version paying without application, and the
    person qualifying under it. A job that has not yet walked a new version, or a policy
    that ended, cannot leave an offer open that the policy no longer makes."""
    key = path_id(grant_id)
    grant = await Grant.get_or_none(id=key, account_id__in=[uuid.UUID(a) for a in payees])
    if grant is None:
        raise Problem("not_found")
    if grant.state == "pending_confirmation":
        await _still_offered(grant, today)
    if grant.state == "withdrawn":
        raise Problem("grant_withdrawn")
    now = datetime.now(UTC)
    confirmed = await Grant.filter(id=key, state="pending_confirmation").update(
        state="confirmed", confirmed_at=now, confirmed_by=uuid.UUID(confirmer)
    )
    if confirmed:
        await audit("policy_push.grant.confirm", f"grant:{key}", PURPOSE)
    # The lease: one request at a time asks the province, and a request that died hands
    # over after LEASE. Its row is re-read after the claim, so the state shown is current.
    claimed = await Grant.filter(
        Q(paying_until__isnull=True) | Q(paying_until__lt=now),
        id=key,
        state="confirmed",
        payment_id__isnull=True,
    ).update(paying_until=now + LEASE)
    grant = await Grant.get(id=key)
    if claimed:
        await _pay(grant, payees[str(grant.account_id)], client, audit)
    return grant


async def _still_offered(grant: Grant, today: date) -> None:
    """Withdraw ``grant`` unless the policy still offers it today; an offer still made
    takes the words of the version published and the amount in force today."""
    policy = await Policy.get_or_none(id=grant.policy_id)
    found = await matching.in_force(policy, today) if policy is not None else None
    amount = amounts.in_force(found.version.amounts, today) if found is not None else None
    offered = (
        found is not None
        and found.version.auto_grant
        and amount is not None
        and evaluate(found.rule, await facts(grant.audience, str(grant.account_id)), today,
                     texts=False).answer == "eligible"
    )  # fmt: skip
    if not offered:
        await Grant.filter(id=grant.id, state="pending_confirmation").update(state="withdrawn")
        raise Problem("grant_withdrawn")
    assert found is not None and amount is not None
    # The amount paid is the one in force on the day of the confirmation (a dated rise
    # after the offer was made counts, and so does a fall).
    if (grant.version, grant.amount_fen) != (found.version.number, amount.amount_fen):
        await Grant.filter(id=grant.id, state="pending_confirmation").update(
            version=found.version.number,
            amount_fen=amount.amount_fen,
            document_no=found.version.document_no,
        )


async def _pay(
    grant: Grant, payee: Payee, client: BenefitPaymentUpstream, audit: AuditHook
) -> None:
    grant.attempts += 1
    try:
        payment = await client.pay(
            str(grant.id),
            payee.number,
            payee.kind,  # type: ignore[arg-type]
            grant.document_no,
            grant.amount_fen,
            audit=audit,
            purpose=PURPOSE,
        )
    except UpstreamRejected as exc:
        grant.state, grant.failure, grant.paying_until = "rejected", exc.code, None
        await grant.save(update_fields=["state", "failure", "paying_until", "attempts"])
        return
    except UpstreamUnavailable as exc:
        # Still confirmed: the next tap (or the person's next look) pays it, same key.
        grant.failure, grant.paying_until = f"upstream_{exc.code}", None
        await grant.save(update_fields=["failure", "paying_until", "attempts"])
        raise Problem("upstream_unavailable", seconds=30, headers={"Retry-After": "30"}) from exc
    grant.payment_id, grant.failure, grant.paying_until = payment.payment_id, None, None
    if payment.status == "paid":
        grant.state, grant.paid_at = "paid", datetime.now(UTC)
    elif payment.status == "rejected":
        grant.state, grant.failure = "rejected", payment.reason or "rejected"
    await grant.save(
        update_fields=["payment_id", "failure", "paying_until", "state", "paid_at", "attempts"]
    )


async def follow_up(grants: list[Grant], client: BenefitPaymentUpstream, audit: AuditHook) -> None:
    """Ask the province how the payments it accepted but has not settled stand (large ones
    are reviewed there first), and keep the answer; a province that does not answer
    leaves the last state known."""
    for grant in grants:
        if grant.state != "confirmed" or grant.payment_id is None:
            continue
        try:
            fetched = await client.payment(str(grant.id), audit=audit, purpose=PURPOSE)
        except (UpstreamUnavailable, UpstreamRejected):
            continue
        if fetched.data.status == "paid":
            grant.state, grant.paid_at = "paid", datetime.now(UTC)
        elif fetched.data.status == "rejected":
            grant.state, grant.failure = "rejected", fetched.data.reason or "rejected"
        else:
            continue
        await Grant.filter(id=grant.id, state="confirmed").update(
            state=grant.state, paid_at=grant.paid_at, failure=grant.failure
        )


async def grant_outs(grants: list[Grant]) -> list[GrantOut]:
    """Grants as the person and operators see them, with their policy's title."""
    titles = {
        (v.policy_id, v.number): v.title  # type: ignore[attr-defined]
        for v in await PolicyVersion.filter(policy_id__in={g.policy_id for g in grants})
    }
    return [
        GrantOut(
            id=str(g.id),
            policy_id=str(g.policy_id),
            title=titles.get((g.policy_id, g.version), ""),
            document_no=g.document_no,
            amount_fen=g.amount_fen,
            amount_display=format_money(g.amount_fen),
            state=g.state,  # type: ignore[arg-type]
            state_label=gettext(labels.GRANT_STATE[g.state]),
            created_at=g.created_at,
            confirmed_at=g.confirmed_at,
            paid_at=g.paid_at,
            payment_id=g.payment_id,
            failure=g.failure,
        )
        for g in grants
    ]
