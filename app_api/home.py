"""/api/v1/home: every installed mini-program's card, fetched concurrently under a deadline.

A slow or failing upstream yields a degraded card (a cached copy, marked ``as_of``) or an
unavailable card with a retry hint; the page itself never fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog
from litestar import Request, Router, get

from app_api.deps import AuditBuffer
from app_api.miniprogram import installed
from app_api.schemas import Out
from app_api.services import Services
from integrations.provincial import UpstreamUnavailable
from locales import N_, gettext
from miniprograms.access import resident
from miniprograms.contract import Card, CardContext, MiniProgram, Subject

log = structlog.get_logger("superapp.home")


class Home(Out):
    cards: list[Card]


def unavailable(program: MiniProgram, retry_after_s: int) -> Card:
    return Card(
        id=program.slug,
        title=gettext(program.title),
        summary=gettext(N_("Temporarily unavailable. Pull down to try again in a moment.")),
        status="unavailable",
        retry_after_s=retry_after_s,
    )


# Cards still running past their deadline: cancelled, not awaited (a card that ignores its
# cancellation must not hold the page), and kept referenced until they end.
_LATE: set[asyncio.Task[object]] = set()


def _outcome(program: MiniProgram, task: asyncio.Task[object] | None) -> Card:
    """The card a finished (or late, ``None``) task stands for; never an exception."""
    if task is None:
        log.warning("card_deadline", program=program.slug)
        return unavailable(program, 10)
    if task.cancelled():  # the card raised CancelledError itself
        log.error("card_failed", program=program.slug, error_type="CancelledError")
        return unavailable(program, 60)
    exc = task.exception()
    if isinstance(exc, UpstreamUnavailable):
        return unavailable(program, max(1, int(exc.retry_after_s or 30)))
    if exc is not None:  # a broken card must not take the home screen down
        log.error("card_failed", program=program.slug, error_type=type(exc).__name__)
        return unavailable(program, 60)
    card = task.result()
    if not isinstance(card, Card):
        log.error("card_failed", program=program.slug, error_type=type(card).__name__)
        return unavailable(program, 60)
    if card.id != program.slug:  # one tile per program, named by its slug: no posing
        log.error("card_id_mismatch", program=program.slug, card_id=card.id)
        card.id = program.slug
    return card


def _forget(task: asyncio.Task[object]) -> None:
    _LATE.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as lost


async def cards_for(
    programs: Sequence[MiniProgram], context: Callable[[MiniProgram], CardContext], deadline: float
) -> list[Card]:
    """Every program's card at once, each under ``deadline``; a late or broken one becomes an
    unavailable card, and the page waits for none of them past the deadline."""
    tasks = {
        program.slug: asyncio.ensure_future(program.card(context(program)))
        for program in programs
        if program.card is not None
    }
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks.values(), timeout=deadline)
    finally:
        late = {task for task in tasks.values() if not task.done()}
        for task in late:
            task.cancel()
            _LATE.add(task)
            task.add_done_callback(_forget)
    return [
        _outcome(program, None if tasks[program.slug] in late else tasks[program.slug])
        for program in programs
        if program.slug in tasks
    ]


class _CardAudit:
    """The cards' audit hook: buffered into one commit while the page is built; a card still
    reading after the page was answered writes each entry at once (unrecorded it must not go)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.buffer = AuditBuffer(request)
        self.answered = False

    async def __call__(self, action: str, resource: str, purpose: str) -> None:
        if not self.answered:
            await self.buffer(action, resource, purpose)
            return
        late = AuditBuffer(self.request)  # its own, so no flush can drop another's entry
        await late(action, resource, purpose)
        await late.flush()


@get("/home", opt={"access": resident()}, summary="The home screen: one card per mini-program")
async def home(request: Request, subject: Subject, services: Services) -> Home:
    audit = _CardAudit(request)

    def context(program: MiniProgram) -> CardContext:
        clients = services.runtimes[program.slug].clients
        return CardContext(subject=subject, clients=clients, audit=audit)

    cards = await cards_for(installed(), context, services.settings.card_deadline_s)
    audit.answered = True  # before any await: a late card's entry goes its own way from now
    await audit.buffer.flush()  # every read the cards made, in one commit
    return Home(cards=cards)


router = Router(path="/api/v1", route_handlers=[home], tags=["home"])
