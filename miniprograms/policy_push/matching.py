"""政策找人: finding who qualifies, and telling them once.

Two ways in, one way out. A published policy walks the whole population with its rule
compiled to SQL (:func:`match_policy`); a person whose facts changed is evaluated against
every policy in force (:func:`rematch`). Both end in :func:`record`, which writes the
matches, the 免申即享 grants and the notifications in one transaction per batch, each under
a unique key: a job run twice, or killed half-way and run again, finds the same people and
tells nobody twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import structlog
from tortoise import connections
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from locales import format_money
from miniprograms.contract import Runtime
from miniprograms.policy_push import amounts
from miniprograms.policy_push.eligibility import (
    REGISTRIES,
    Rule,
    Screen,
    compile_sql,
    from_builtins,
    validate,
)
from miniprograms.policy_push.models import Grant, MutedCategory, Policy, PolicyMatch, PolicyVersion
from miniprograms.policy_push.profiles import TABLES, facts
from notifications.addressed import Addressed

BATCH = 1000
log = structlog.get_logger("superapp.policy_push")
_NIL = str(uuid.UUID(int=0))


class Active(NamedTuple):
    """A published policy in force, its published words and its validated rule."""

    policy: Policy
    version: PolicyVersion
    rule: Rule


# Versions never change once written, so a validated rule is kept by (policy, version).
_RULES: dict[tuple[uuid.UUID, int], Rule | None] = {}
_RULES_KEPT = 10_000
# The screen of the policies last seen in force, per audience (rebuilt when they change).
_SCREENS: dict[str, tuple[tuple[tuple[uuid.UUID, int], ...], Screen]] = {}


def rule_of(policy: Policy, version: PolicyVersion) -> Rule | None:
    """The version's rule, validated for the policy's audience (None: nobody is matched)."""
    key = (policy.id, version.number)
    if key not in _RULES:
        if len(_RULES) >= _RULES_KEPT:
            _RULES.clear()
        raw = version.rule
        _RULES[key] = (
            None if raw is None else validate(from_builtins(raw), REGISTRIES[policy.audience])
        )
    return _RULES[key]


def screen_of(audience: str, found: Sequence[Active]) -> Screen:
    """One generated function answering every rule of ``found`` at once (see
    :class:`.eligibility.Screen`), kept until the set of policies in force changes."""
    key = tuple((a.policy.id, a.version.number) for a in found)
    kept = _SCREENS.get(audience)
    if kept is None or kept[0] != key:
        kept = (key, Screen([a.rule for a in found]))
        _SCREENS[audience] = kept
    return kept[1]


async def active(audience: str, today: date) -> list[Active]:
    """Every published policy for ``audience`` in force on ``today`` that has a rule."""
    policies = await Policy.filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today),
        state="published",
        audience=audience,
        starts_on__lte=today,
    )
    if not policies:
        return []
    wanted = {(p.id, p.published_version) for p in policies}
    versions = {
        (v.policy_id, v.number): v  # type: ignore[attr-defined]
        for v in await PolicyVersion.filter(policy_id__in=[p.id for p in policies]).only(
            "id", "policy_id", "number", "title", "document_no", "amounts", "rule", "auto_grant"
        )
        if (v.policy_id, v.number) in wanted  # type: ignore[attr-defined]
    }
    found = []
    for policy in policies:
        version = versions[(policy.id, policy.published_version)]
        rule = rule_of(policy, version)
        if rule is not None:
            found.append(Active(policy, version, rule))
    return found


def match_key(policy_id: uuid.UUID, account_id: str) -> str:
    """One message per policy and person, whatever the version that found them (67 chars:
    room for an enterprise admin's own suffix within the outbox's key limit)."""
    return f"m:{policy_id.hex}:{uuid.UUID(account_id).hex}"


class Superseded(Exception):
    """The version being matched is no longer the published one (retired, or replaced)."""


async def record(runtime: Runtime, found: Active, accounts: Sequence[str], today: date) -> int:
    """Record that ``accounts`` qualify for ``found``: their matches (a withdrawn one
    restored), a grant each when the policy pays without application, and one message each
    unless they muted the category. Returns how many messages were new. Idempotent.

    Raises :class:`Superseded`, writing nothing, when the version is no longer published:
    the policy's row is locked first, so a retirement or publication either comes after
    this batch (and withdraws what it wrote) or before it (and the batch sees it)."""
    if not accounts:
        return 0
    policy, version = found.policy, found.version
    ids = [uuid.UUID(a) for a in accounts]
    async with in_transaction():
        now = await Policy.select_for_update().get_or_none(id=policy.id)
        if now is None or now.state != "published" or now.published_version != version.number:
            raise Superseded(str(policy.id))
        await PolicyMatch.bulk_create(
            [
                PolicyMatch(
                    id=uuid.uuid4(),
                    policy_id=policy.id,
                    version=version.number,
                    audience=policy.audience,
                    account_id=account,
                    category=policy.category,
                )
                for account in ids
            ],
            ignore_conflicts=True,
        )
        await (
            PolicyMatch.filter(policy_id=policy.id, version=version.number, account_id__in=ids)
            .exclude(withdrawn_at=None)
            .update(withdrawn_at=None)
        )
        amount = amounts.in_force(version.amounts, today)
        template, params = "match", {"title": version.title}
        if version.auto_grant and amount is not None:
            await Grant.bulk_create(
                [
                    Grant(
                        id=uuid.uuid4(),
                        policy_id=policy.id,
                        version=version.number,
                        audience=policy.audience,
                        account_id=account,
                        amount_fen=amount.amount_fen,
                        document_no=version.document_no,
                    )
                    for account in ids
                ],
                ignore_conflicts=True,
            )
            # Found again (after a withdrawal, or by a newer version): the offer stands,
            # in this version's words and amount. Confirmed and paid grants are not touched.
            await Grant.filter(
                policy_id=policy.id,
                account_id__in=ids,
                state__in=("pending_confirmation", "withdrawn"),
            ).update(
                state="pending_confirmation",
                version=version.number,
                amount_fen=amount.amount_fen,
                document_no=version.document_no,
            )
            template, params = "grant", {**params, "amount": format_money(amount.amount_fen)}
        muted = set(
            await MutedCategory.filter(account_id__in=ids, category=policy.category).values_list(
                "account_id", flat=True
            )
        )
        told = [a for a in accounts if uuid.UUID(a) not in muted]
        link = f"/policies/{policy.id}"
        if policy.audience == "enterprise":
            new = 0
            for account in told:
                key = match_key(policy.id, account)
                new += await runtime.notify_enterprise(
                    account, "policy", template, params, key, link=link
                )
            return new
        addressed = [Addressed(a, match_key(policy.id, a)) for a in told]
        return await runtime.notify_many(addressed, "policy", template, params, link=link)


async def withdraw(audience: str, account_id: str, policy_ids: Sequence[uuid.UUID]) -> None:
    """They no longer qualify for these policies: their matches are withdrawn and a grant
    they have not confirmed yet goes with them (a confirmed one is theirs)."""
    if not policy_ids:
        return
    now = datetime.now(UTC)
    account = uuid.UUID(account_id)
    await PolicyMatch.filter(
        account_id=account, policy_id__in=policy_ids, withdrawn_at=None
    ).update(withdrawn_at=now)
    await Grant.filter(
        account_id=account, policy_id__in=policy_ids, state="pending_confirmation"
    ).update(state="withdrawn")


async def match_policy(runtime: Runtime, *, policy_id: str, version: int) -> dict[str, Any]:
    """Job: everyone the published ``version`` of a policy reaches today, in batches of a
    thousand walked by id; each batch recorded in its own transaction. Nothing happens for
    a version no longer the published one (a later publication runs its own job)."""
    today = runtime.today()
    policy = await Policy.get_or_none(id=uuid.UUID(policy_id))
    if policy is None or policy.state != "published" or policy.published_version != version:
        return {"skipped": "not the published version"}
    found = await in_force(policy, today)
    if found is None:
        return {"skipped": "not in force or no rule"}
    matched = told = 0
    after = _NIL
    while True:
        batch = await _batch(found, today, after)
        if not batch:
            break
        try:
            told += await record(runtime, found, batch, today)
        except Superseded:
            return {"skipped": "superseded while matching", "matched": matched, "told": told}
        matched += len(batch)
        after = batch[-1]
    await _offer_only_to(found)
    # Done in full: the daily job need not queue this version again.
    await Policy.filter(id=policy.id, published_version=version).update(matched_version=version)
    return {"matched": matched, "told": told}


async def _offer_only_to(found: Active) -> None:
    """After a full walk of a version: a grant still waiting for a tap from someone this
    version did not find (or from anyone, when it no longer pays without application) is
    withdrawn; whoever confirmed already keeps theirs."""
    waiting = Grant.filter(policy_id=found.policy.id, state="pending_confirmation")
    if found.version.auto_grant:
        kept = PolicyMatch.filter(
            policy_id=found.policy.id, version=found.version.number, withdrawn_at=None
        ).values_list("account_id", flat=True)
        waiting = waiting.exclude(account_id__in=Subquery(kept))
    await waiting.update(state="withdrawn")


async def in_force(policy: Policy, today: date) -> Active | None:
    """The policy as it stands today: published, in force, with a rule; else None."""
    if policy.state != "published" or policy.published_version is None:
        return None
    if policy.starts_on is None or policy.starts_on > today:
        return None
    if policy.expires_on is not None and policy.expires_on < today:
        return None
    version = await PolicyVersion.get(policy_id=policy.id, number=policy.published_version)
    rule = rule_of(policy, version)
    return Active(policy, version, rule) if rule is not None else None


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


async def _batch(found: Active, today: date, after: str) -> list[str]:
    """The next thousand account ids after ``after`` whose facts meet the rule today."""
    dialect = _dialect()
    where = compile_sql(found.rule, today, "postgres" if dialect == "postgres" else "sqlite")
    mark = f"${len(where.params) + 1}" if dialect == "postgres" else "?"
    table = TABLES[found.policy.audience]._meta.db_table
    rows = await connections.get("default").execute_query_dict(
        f'SELECT account_id FROM "{table}" WHERE {where.sql} AND account_id > {mark}'
        f" ORDER BY account_id LIMIT {BATCH}",
        [*where.params, after],
    )
    return [str(row["account_id"]) for row in rows]


async def reach(audience: str, rule: Rule, today: date) -> list[tuple[str | None, int]]:
    """How many the rule reaches today, by district (operators' preview)."""
    dialect = _dialect()
    where = compile_sql(rule, today, "postgres" if dialect == "postgres" else "sqlite")
    table = TABLES[audience]._meta.db_table
    rows = await connections.get("default").execute_query_dict(
        f'SELECT district, COUNT(*) AS n FROM "{table}" WHERE {where.sql}'
        " GROUP BY district ORDER BY district",
        where.params,
    )
    return [(row["district"], int(row["n"])) for row in rows]


async def rematch(runtime: Runtime, audience: str, account_id: str, today: date) -> int:
    """One person's or enterprise's facts changed: evaluate them against every policy in
    force, record what they now qualify for and withdraw what they no longer do (an answer
    that needs more facts changes nothing). Returns how many messages were new."""
    known = await facts(audience, account_id)
    told = 0
    gone = []
    in_force = await active(audience, today)
    answers = screen_of(audience, in_force).answers(known, today)
    for found, answer in zip(in_force, answers, strict=True):
        if answer == "eligible":
            with contextlib.suppress(Superseded):  # retired meanwhile: nothing to offer
                told += await record(runtime, found, [account_id], today)
        elif answer == "not_eligible":
            gone.append(found.policy.id)
    await withdraw(audience, account_id, gone)
    return told


async def daily(runtime: Runtime) -> dict[str, int]:
    """Cron, daily. Residents a year older today may have crossed an age in a rule (60,
    80, …), so each is evaluated again; grants of policies that ended are withdrawn; then
    :func:`catch_up`."""
    today = runtime.today()
    days = [today.strftime("%m-%d")]
    if today.month == 3 and today.day == 1 and not _leap(today.year):
        days.append("02-29")  # born on 29 February: a year older on 1 March
    postgres = _dialect() == "postgres"
    day_of = "to_char(birth_date, 'MM-DD')" if postgres else "strftime('%m-%d', birth_date)"
    marks = ", ".join(f"${i + 1}" if postgres else "?" for i in range(len(days)))
    rows = await connections.get("default").execute_query_dict(
        f"SELECT account_id FROM policy_resident_profile WHERE {day_of} IN ({marks})"
        " ORDER BY account_id",
        days,
    )
    told = 0
    for row in rows:
        told += await rematch(runtime, "resident", str(row["account_id"]), today)
    # A policy that ended can no longer pay what it offered and nobody confirmed.
    ended = Policy.filter(state="published", expires_on__lt=today).values_list("id", flat=True)
    await Grant.filter(state="pending_confirmation", policy_id__in=Subquery(ended)).update(
        state="withdrawn"
    )
    queued = await catch_up(runtime)
    return {"residents": len(rows), "told": told, "policies_queued": queued}


async def queue_match(runtime: Runtime, policy_id: str, version: int) -> None:
    """Queue the population match of a published version (once: a queued twin is the same
    job)."""
    key = f"policy_push:match:{policy_id}:{version}"
    await runtime.enqueue("match_policy", policy_id=policy_id, version=version, key=key)


async def catch_up(runtime: Runtime) -> int:
    """Queue matching for each published version in force not yet matched in full: it
    came into force today, or its job was lost with a worker (also run at start-up)."""
    unmatched = [
        policy
        for policy in await Policy.filter(state="published", starts_on__lte=runtime.today())
        if policy.matched_version != policy.published_version
    ]
    for policy in unmatched:
        await queue_match(runtime, str(policy.id), policy.published_version or 0)
    return len(unmatched)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


async def catch_up_at_start(runtime: Runtime) -> None:
    """Start-up hook: :func:`catch_up` (a fresh demo city is matched as the worker starts).
    A database not migrated yet (``serve`` before ``migrate``) is left to the daily job."""
    try:
        await catch_up(runtime)
    except (OperationalError, DBConnectionError) as exc:
        log.warning("policy_catch_up_skipped", error=str(exc))
