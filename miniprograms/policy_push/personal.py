"""What one resident or enterprise sees of policy push: their answer for a policy with the
reasons, the policies found for them, and the categories they muted."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from locales import gettext
from miniprograms.common import Problem, path_id
from miniprograms.policy_push import labels
from miniprograms.policy_push.eligibility import Verdict, evaluate
from miniprograms.policy_push.matching import rule_of
from miniprograms.policy_push.models import Grant, MutedCategory, Policy, PolicyMatch, PolicyVersion
from miniprograms.policy_push.profiles import facts
from miniprograms.policy_push.schemas import (
    ClauseOut,
    EligibilityOut,
    InterestsOut,
    MatchOut,
    MatchPage,
    MissingOut,
)
from miniprograms.policy_push.service import summary_out


async def eligibility(
    policy_id: str, audience: str, account_id: str, today: date
) -> EligibilityOut:
    """The answer for one published policy today, each condition marked, the facts to ask
    for listed. A policy for the other audience is a problem that says whom it is for."""
    policy = await Policy.get_or_none(id=path_id(policy_id), state="published")
    if policy is None:
        raise Problem("not_found")
    if policy.audience != audience:
        raise Problem(f"policy_for_{policy.audience}s")
    version = await PolicyVersion.get(policy=policy, number=policy.published_version)
    rule = rule_of(policy, version)
    if rule is None:
        raise Problem("policy_no_rule")
    verdict = evaluate(rule, await facts(audience, account_id), today)
    return EligibilityOut(
        policy_id=str(policy.id),
        version=version.number,
        on=today,
        answer=verdict.answer,
        answer_label=gettext(labels.ANSWER[verdict.answer]),
        clauses=clauses_out(verdict),
        missing=[MissingOut(field=m.field, label=m.label, gap=m.gap) for m in verdict.missing],
    )


def clauses_out(verdict: Verdict) -> list[ClauseOut]:
    return [
        ClauseOut(
            path=c.path,
            field=c.field,
            outcome=c.outcome,
            gap=c.gap,
            wanted=not c.negated,
            text=c.text,
            source=c.source,
            as_of=c.as_of,
        )
        for c in verdict.clauses
    ]


def _live(account: uuid.UUID) -> QuerySet[PolicyMatch]:
    """Their matches still standing: not withdrawn, not in a muted category, and not of a
    policy they dismissed (a dismissal holds for the policy, whatever version finds them)."""
    muted = MutedCategory.filter(account_id=account).values_list("category", flat=True)
    dismissed = PolicyMatch.filter(account_id=account, dismissed_at__isnull=False).values_list(
        "policy_id", flat=True
    )
    return (
        PolicyMatch.filter(account_id=account, withdrawn_at=None)
        .exclude(category__in=Subquery(muted))
        .exclude(policy_id__in=Subquery(dismissed))
    )


async def matches(
    audience: str, account_id: str, today: date, page: int, page_size: int
) -> MatchPage:
    """The published policies found for them, newest first, each with today's reasons:
    neither dismissed nor withdrawn, not in a category they muted, still in force."""
    account = uuid.UUID(account_id)
    rows = await _live(account).order_by("-matched_at", "-id")
    policies = {
        p.id: p
        for p in await Policy.filter(
            id__in={r.policy_id for r in rows}, state="published", starts_on__lte=today
        )
    }
    # A match of an earlier version stays hidden until the published one finds them too.
    shown = [
        r
        for r in rows
        if r.policy_id in policies
        and r.version == policies[r.policy_id].published_version
        and (policies[r.policy_id].expires_on is None or policies[r.policy_id].expires_on >= today)
    ]
    total = len(shown)
    chosen = shown[(page - 1) * page_size : page * page_size]
    versions = {
        (v.policy_id, v.number): v  # type: ignore[attr-defined]
        for v in await PolicyVersion.filter(policy_id__in={r.policy_id for r in chosen})
    }
    grants = {
        g.policy_id: g
        for g in await Grant.filter(
            account_id=account,
            policy_id__in={r.policy_id for r in chosen},
            state="pending_confirmation",
        )
    }
    known = await facts(audience, account_id)
    items = []
    for row in chosen:
        policy, version = policies[row.policy_id], versions[(row.policy_id, row.version)]
        rule = rule_of(policy, version)
        verdict = evaluate(rule, known, today) if rule is not None else None
        grant = grants.get(row.policy_id)
        items.append(
            MatchOut(
                id=str(row.id),
                policy=summary_out(policy, version),
                matched_at=row.matched_at,
                reasons=[c.text for c in verdict.clauses] if verdict else [],
                grant_id=str(grant.id) if grant else None,
            )
        )
    return MatchPage(items=items, page=page, page_size=page_size, total=total)


async def counts(account_id: str) -> tuple[int, int]:
    """For the home card: how many policies were found for them (live, not muted) and how
    many grants wait for their tap. A match of a retired policy or an earlier version is
    not counted."""
    account = uuid.UUID(account_id)
    live = await _live(account).values_list("policy_id", "version")
    if not live:
        return 0, 0
    published = dict(
        await Policy.filter(id__in={p for p, _ in live}, state="published").values_list(
            "id", "published_version"
        )
    )
    found = sum(1 for p, v in live if published.get(p) == v)
    waiting = await Grant.filter(account_id=account, state="pending_confirmation").count()
    return found, waiting


async def dismiss(match_id: str, account_id: str) -> None:
    """Hide one match (idempotent); someone else's is not found."""
    match = await PolicyMatch.get_or_none(id=path_id(match_id), account_id=uuid.UUID(account_id))
    if match is None:
        raise Problem("not_found")
    await PolicyMatch.filter(id=match.id, dismissed_at=None).update(dismissed_at=datetime.now(UTC))


async def interests(account_id: str) -> InterestsOut:
    muted = await MutedCategory.filter(account_id=uuid.UUID(account_id)).order_by("category")
    return InterestsOut(muted=[m.category for m in muted])  # type: ignore[misc]


async def set_interests(account_id: str, muted: list[str]) -> InterestsOut:
    """Replace the muted categories (the whole list, so a repeat changes nothing)."""
    account = uuid.UUID(account_id)
    async with in_transaction():
        await MutedCategory.filter(account_id=account).delete()
        await MutedCategory.bulk_create(
            [MutedCategory(account_id=account, category=c) for c in sorted(set(muted))],
            ignore_conflicts=True,
        )
    return await interests(account_id)
