"""/api/v1/home: every installed mini-program's card, fetched concurrently under a deadline.

A slow or failing upstream yields a degraded card (a cached copy, marked ``as_of``) or an
unavailable card with a retry hint; the page itself never fails.
"""

from __future__ import annotations

import asyncio

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


async def card_for(program: MiniProgram, ctx: CardContext, deadline_s: float) -> Card:
    """One card, never an exception: a failure or a late answer becomes an unavailable card."""
    try:
        return await asyncio.wait_for(program.card(ctx), deadline_s)
    except TimeoutError:
        log.warning("card_deadline", program=program.slug)
        return unavailable(program, 10)
    except UpstreamUnavailable as exc:
        return unavailable(program, max(1, int(exc.retry_after_s or 30)))
    except Exception as exc:  # a broken card must not take the home screen down
        log.error("card_failed", program=program.slug, error_type=type(exc).__name__)
        return unavailable(program, 60)


@get("/home", opt={"access": resident()}, summary="The home screen: one card per mini-program")
async def home(request: Request, subject: Subject, services: Services) -> Home:
    audit = AuditBuffer(request)
    ctx = CardContext(subject=subject, clients=services.clients, audit=audit)
    deadline = services.settings.card_deadline_s
    cards = await asyncio.gather(*(card_for(program, ctx, deadline) for program in installed()))
    await audit.flush()  # every read the cards made, in one commit
    return Home(cards=list(cards))


router = Router(path="/api/v1", route_handlers=[home], tags=["home"])
