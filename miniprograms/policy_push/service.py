"""The policy library's rules: drafts and versions, publishing by a second operator, search.

- An editor drafts a policy (version 1) and may change the draft in place; once a version is
  published, an edit writes the next version, and residents keep seeing the published one.
- A publisher publishes the latest version, and must not be the operator who wrote it (two
  people for every publication). Retiring takes a policy out of the library and the search.
- Each change of a policy locks its row, so an edit and a publication of the same policy
  never interleave (two publishers at once: one publishes, the other finds nothing new).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from integrations import clock
from locales import gettext
from miniprograms.common import path_id
from miniprograms.contract import Problem
from miniprograms.policy_push import amounts, labels, search
from miniprograms.policy_push.eligibility import (
    REGISTRIES,
    All,
    AnyOf,
    Not,
    Rule,
    RuleError,
    from_builtins,
    validate,
)
from miniprograms.policy_push.models import Grant, Policy, PolicyGram, PolicyVersion
from miniprograms.policy_push.schemas import (
    DistrictCount,
    PolicyAdminOut,
    PolicyIn,
    PolicyOut,
    PolicyPage,
    PolicySummary,
    PreviewOut,
    VersionOut,
)

# Control characters other than line breaks and tabs: never in a policy's words.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CANDIDATES = 500
NEWEST_TTL_S = 60.0
_newest: dict[
    tuple[str, date], tuple[float, str | None, int]
] = {}  # policies a query may narrow to before its text is checked


def _check(data: PolicyIn) -> None:
    """Refuse a policy that does not hold together; nothing is written before this passes."""
    if data.effective_to is not None and data.effective_to < data.effective_from:
        raise Problem("policy_dates_invalid")
    for name in ("title", "department", "document_no", "summary", "benefit", "full_text"):
        text = getattr(data, name)
        if not text.strip() or _CONTROL.search(text):
            error = {"field": name, "reason": "blank_or_control_characters", "source": "body"}
            raise Problem("validation_failed", errors=[error])
    if data.auto_grant and data.rule is None:
        error = {"field": "rule", "reason": "required_for_auto_grant", "source": "body"}
        raise Problem("policy_rule_invalid", errors=[error])
    if data.rule is not None:
        try:
            rule = validate(from_builtins(data.rule), REGISTRIES[data.audience])
            if data.auto_grant:
                _verified_only(rule, "$")
        except RuleError as exc:
            # The rule's own path under the body's "rule" ("$.all[1].field" is
            # "rule.all[1].field"), in the shape every field error has.
            where = "rule" + exc.path.removeprefix("$")
            error = {"field": where, "reason": exc.reason, "source": "body"}
            raise Problem("policy_rule_invalid", errors=[error]) from None
    wrong = amounts.problems(data.amounts)
    if data.auto_grant and (not data.amounts or any(a.amount_fen == 0 for a in data.amounts)):
        # A benefit paid without applying has an amount, and never nothing.
        wrong = ["positive_amount_required_for_auto_grant"]
    if wrong:
        raise Problem("policy_amounts_invalid", errors=[{"field": "amounts", "reason": wrong[0]}])


def _verified_only(rule: Rule, path: str) -> None:
    """Money paid without an application rests on facts a registry vouches for: a rule of
    an auto-grant policy may not read a field people declare themselves."""
    if isinstance(rule, All | AnyOf):
        key = "all" if isinstance(rule, All) else "any"
        for i, part in enumerate(rule.rules):
            _verified_only(part, f"{path}.{key}[{i}]")
    elif isinstance(rule, Not):
        _verified_only(rule.rule, f"{path}.not")
    elif rule.spec is not None and rule.spec.source == "self_declared":
        raise RuleError(f"{path}.field", "self_declared_in_auto_grant")


def _words(data: PolicyIn) -> dict[str, object]:
    return {
        "title": data.title,
        "department": data.department,
        "document_no": data.document_no,
        "summary": data.summary,
        "full_text": data.full_text,
        "effective_from": data.effective_from,
        "effective_to": data.effective_to,
        "benefit": data.benefit,
        "amounts": amounts.stored(data.amounts),
        "how_to_apply": data.how_to_apply,
        "rule": data.rule,
        "rule_reference": data.rule_reference,
        "auto_grant": data.auto_grant,
    }


async def draft(data: PolicyIn, editor: str) -> Policy:
    """A new policy in draft, its version 1 written by ``editor``."""
    _check(data)
    async with in_transaction():
        policy = await Policy.create(
            id=uuid.uuid4(), audience=data.audience, category=data.category, created_by=editor
        )
        await PolicyVersion.create(
            id=uuid.uuid4(), policy=policy, number=1, edited_by=editor, **_words(data)
        )
    return policy


def _in_force(policies: QuerySet[Policy], today: date) -> QuerySet[Policy]:
    """Those in force on ``today``: taken effect, not yet ended."""
    return policies.filter(starts_on__lte=today).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


async def _locked(policy_id: str) -> Policy:
    """The policy's row, locked for the rest of the transaction (PostgreSQL; SQLite writes
    one transaction at a time anyway)."""
    policy = await Policy.select_for_update().get_or_none(id=path_id(policy_id))
    if policy is None:
        raise Problem("not_found")
    return policy


async def revise(policy_id: str, data: PolicyIn, editor: str) -> Policy:
    """Write the policy's next version. Every save is a version of its own (none is changed
    in place), so what a publisher reviewed is what they publish, and every author is on
    record."""
    _check(data)
    async with in_transaction():
        policy = await _locked(policy_id)
        if policy.state == "retired":
            raise Problem("policy_retired")
        if data.audience != policy.audience:
            raise Problem("policy_audience_fixed")
        policy.latest_version += 1
        await PolicyVersion.create(
            id=uuid.uuid4(),
            policy=policy,
            number=policy.latest_version,
            edited_by=editor,
            **_words(data),
        )
        policy.category = data.category
        await policy.save(update_fields=["latest_version", "category"])
    return policy


async def publish(policy_id: str, version: int, publisher: str) -> Policy:
    """Publish ``version``, the one the publisher reviewed: refused when a later version was
    saved since, or when the publisher wrote any version since the last publication (the
    words they approve are never their own)."""
    async with in_transaction():
        policy = await _locked(policy_id)
        if policy.state == "retired":
            raise Problem("policy_retired")
        if policy.published_version == policy.latest_version:
            raise Problem("policy_nothing_to_publish")
        if version != policy.latest_version:
            raise Problem("policy_changed_since_review", latest=policy.latest_version)
        since = await PolicyVersion.filter(
            policy=policy, number__gt=policy.published_version or 0
        ).values_list("edited_by", flat=True)
        if publisher in since:
            raise Problem("policy_two_person")
        latest = await PolicyVersion.get(policy=policy, number=version)
        policy.state = "published"
        policy.published_version = latest.number
        policy.published_by = publisher
        policy.published_at = datetime.now(UTC)
        policy.starts_on = latest.effective_from
        policy.expires_on = latest.effective_to
        await policy.save()
        await index(policy.id, latest)
    forget_newest()
    return policy


async def retire(policy_id: str, publisher: str) -> Policy:
    """Take a published policy out of the library (its history stays)."""
    async with in_transaction():
        policy = await _locked(policy_id)
        if policy.state == "retired":
            raise Problem("policy_retired")
        if policy.state != "published":
            raise Problem("policy_not_published")
        policy.state = "retired"
        policy.retired_at = datetime.now(UTC)
        await policy.save(update_fields=["state", "retired_at"])
        await PolicyGram.filter(policy_id=policy.id).delete()
        # Nobody can confirm a benefit of a retired policy; confirmed ones are still paid.
        await Grant.filter(policy_id=policy.id, state="pending_confirmation").update(
            state="withdrawn"
        )
    forget_newest()
    return policy


def _searchable(version: PolicyVersion) -> tuple[str, str]:
    """The title, and the rest of what a query may find (fields kept apart by newlines)."""
    rest = "\n".join((version.department, version.document_no, version.summary, version.benefit))
    return version.title, rest


async def index(policy_id: uuid.UUID, version: PolicyVersion) -> None:
    """The search grams of the published version, replacing the previous version's."""
    title, rest = _searchable(version)
    in_title = search.grams(title)
    await PolicyGram.filter(policy_id=policy_id).delete()
    await PolicyGram.bulk_create(
        [
            PolicyGram(policy_id=policy_id, gram=gram, in_title=gram in in_title)
            for gram in sorted(in_title | search.grams(rest))
        ]
    )


async def _published(policies: Sequence[Policy]) -> dict[uuid.UUID, PolicyVersion]:
    """Each policy's published version, in one query."""
    wanted = {p.id: p.published_version for p in policies}
    rows = await PolicyVersion.filter(policy_id__in=list(wanted)).filter(
        number__in=sorted({n for n in wanted.values() if n is not None})
    )
    return {r.policy_id: r for r in rows if wanted.get(r.policy_id) == r.number}  # type: ignore[attr-defined]


async def find(
    *,
    q: str | None,
    category: str | None,
    audience: str | None,
    page: int,
    page_size: int,
    today: date,
) -> tuple[list[tuple[Policy, PolicyVersion]], int]:
    """Published policies in force on ``today``, newest first; with ``q``, those whose words
    contain it, title hits first (a query with nothing to look for finds nothing). Returns
    the page and the total."""
    listed = _in_force(Policy.filter(state="published"), today)
    if category:
        listed = listed.filter(category=category)
    if audience:
        listed = listed.filter(audience=audience)
    wanted = search.query_grams(q or "")
    if q is not None and q.strip() and not wanted:
        return [], 0  # only punctuation, symbols or emoji: nothing can contain it as words
    if not wanted:
        total = await listed.count()
        rows = (
            await listed.order_by("-published_at").offset((page - 1) * page_size).limit(page_size)
        )
        versions = await _published(rows)
        return [(p, versions[p.id]) for p in rows if p.id in versions], total
    having_all = (
        PolicyGram.filter(gram__in=sorted(wanted))
        .annotate(n=Count("id"))
        .group_by("policy_id")
        .filter(n=len(wanted))
        .limit(CANDIDATES)
        .values_list("policy_id", flat=True)
    )
    candidates = await listed.filter(id__in=list(await having_all))
    versions = await _published(candidates)
    needed = search.chunks(q or "")
    hits = []
    for policy in candidates:
        version = versions.get(policy.id)
        if version is None:
            continue
        title, rest = _searchable(version)
        if search.contains_all(title, needed):
            hits.append((0, policy, version))
        elif search.contains_all(f"{title}\n{rest}", needed):
            hits.append((1, policy, version))
    hits.sort(
        key=lambda h: (h[0], -(h[1].published_at or datetime.min.replace(tzinfo=UTC)).timestamp())
    )
    start = (page - 1) * page_size
    return [(p, v) for _, p, v in hits[start : start + page_size]], len(hits)


async def newest(*, audience: str) -> tuple[str | None, int]:
    """The title of the newest published policy in force for ``audience``, and how many are.

    Every home screen shows it, and it changes only when a policy is published or retired:
    kept for :data:`NEWEST_TTL_S` per process (a publication here forgets it at once, other
    processes see it within the minute), so the home screen pays no query for it."""
    today = clock.today()
    kept = _newest.get((audience, today))
    if kept is not None and kept[0] > time.monotonic():
        return kept[1], kept[2]
    in_force = _in_force(Policy.filter(state="published", audience=audience), today)
    latest = await in_force.order_by("-published_at").first()
    title, total = None, 0
    if latest is not None:
        version = await PolicyVersion.get(policy=latest, number=latest.published_version)
        title, total = version.title, await in_force.count()
    _newest[(audience, today)] = (time.monotonic() + NEWEST_TTL_S, title, total)
    return title, total


def forget_newest() -> None:
    """Drop the kept :func:`newest` (the library changed)."""
    _newest.clear()


def _listed(policy: Policy, version: PolicyVersion) -> dict[str, Any]:
    """The fields of :class:`PolicySummary`, which :class:`PolicyOut` extends."""
    return {
        "id": str(policy.id),
        "title": version.title,
        "category": policy.category,
        "category_label": gettext(labels.CATEGORY[policy.category]),
        "audience": policy.audience,
        "department": version.department,
        "document_no": version.document_no,
        "summary": version.summary,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "published_at": policy.published_at,
    }


def summary_out(policy: Policy, version: PolicyVersion) -> PolicySummary:
    """A policy as a list shows it."""
    return PolicySummary(**_listed(policy, version))


def page_out(
    rows: Sequence[tuple[Policy, PolicyVersion]], total: int, page: int, page_size: int
) -> PolicyPage:
    """A page of policies as lists show them."""
    return PolicyPage(
        items=[summary_out(p, v) for p, v in rows], page=page, page_size=page_size, total=total
    )


def policy_out(policy: Policy, version: PolicyVersion, today: date) -> PolicyOut:
    """A policy as its own page shows it, with the amount in force ``today``."""
    in_force = version.effective_from <= today and (
        version.effective_to is None or today <= version.effective_to
    )
    return PolicyOut(
        **_listed(policy, version),
        version=version.number,
        in_force=in_force,
        full_text=version.full_text,
        benefit=version.benefit,
        amount=amounts.in_force(version.amounts, today) if in_force else None,
        how_to_apply=version.how_to_apply,
        rule=version.rule,
        rule_reference=version.rule_reference,
        auto_grant=version.auto_grant,
    )


async def published_one(policy_id: str, today: date) -> PolicyOut:
    """A published policy as residents read it (retired and draft ones are not found)."""
    policy = await Policy.get_or_none(id=path_id(policy_id), state="published")
    if policy is None:
        raise Problem("not_found")
    version = await PolicyVersion.get(policy=policy, number=policy.published_version)
    return policy_out(policy, version, today)


# Fewer people than this in a district are not counted out: a preview must not let an
# operator single out one person by narrowing a rule (statistical disclosure control).
SMALLEST_COUNT = 10


def preview_out(
    policy: Policy, version: PolicyVersion, today: date, counts: Sequence[tuple[str | None, int]]
) -> PreviewOut:
    """Reach by district with small counts withheld: a district under
    :data:`SMALLEST_COUNT` shows no number, and the exact total is given only when no
    district was withheld (else the total of those shown, as a floor)."""
    withheld = any(n < SMALLEST_COUNT for _, n in counts)
    shown = sum(n for _, n in counts if n >= SMALLEST_COUNT)
    total = sum(n for _, n in counts)
    return PreviewOut(
        policy_id=str(policy.id),
        version=version.number,
        audience=policy.audience,  # type: ignore[arg-type]
        on=today,
        total=None if withheld or total < SMALLEST_COUNT else total,
        at_least=shown,
        smallest_count=SMALLEST_COUNT,
        by_district=[
            DistrictCount(district=d, count=n if n >= SMALLEST_COUNT else None) for d, n in counts
        ],
    )


async def latest_rule(policy_id: str) -> tuple[Policy, PolicyVersion, Rule]:
    """A policy's latest version and its rule, as a publisher would release it."""
    policy = await Policy.get_or_none(id=path_id(policy_id))
    if policy is None:
        raise Problem("not_found")
    version = await PolicyVersion.get(policy=policy, number=policy.latest_version)
    if version.rule is None:
        raise Problem("policy_no_rule")
    return policy, version, validate(from_builtins(version.rule), REGISTRIES[policy.audience])


async def admin_out(policy: Policy, today: date) -> PolicyAdminOut:
    """A policy with its latest words and its whole history, for operators."""
    versions = await PolicyVersion.filter(policy=policy).order_by("number")
    latest = versions[-1]
    return PolicyAdminOut(
        id=str(policy.id),
        state=policy.state,  # type: ignore[arg-type]
        latest=policy_out(policy, latest, today),
        published_version=policy.published_version,
        published_by=policy.published_by,
        versions=[
            VersionOut(
                number=v.number,
                title=v.title,
                edited_by=v.edited_by,
                created_at=v.created_at,
                published=v.number == policy.published_version,
            )
            for v in versions
        ],
    )


async def admin_list(
    state: str | None, page: int, page_size: int
) -> tuple[list[tuple[Policy, PolicyVersion]], int]:
    """Policies in any state (e.g. drafts waiting for a publisher), latest version first."""
    listed = Policy.all() if state is None else Policy.filter(state=state)
    total = await listed.count()
    rows = await listed.order_by("-created_at").offset((page - 1) * page_size).limit(page_size)
    latest = await PolicyVersion.filter(
        policy_id__in=[p.id for p in rows],
        number__in=sorted({p.latest_version for p in rows}),
    )
    by_policy = {(v.policy_id, v.number): v for v in latest}  # type: ignore[attr-defined]
    return [(p, by_policy[(p.id, p.latest_version)]) for p in rows], total


async def admin_one(policy_id: str, today: date) -> PolicyAdminOut:
    """A policy in any state, for operators."""
    policy = await Policy.get_or_none(id=path_id(policy_id))
    if policy is None:
        raise Problem("not_found")
    return await admin_out(policy, today)
