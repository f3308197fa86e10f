"""What every mini-program's routes, services and cards share (not a mini-program itself)."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import Parameter

from integrations.provincial import Fetched, UpstreamRejected, UpstreamUnavailable
from locales import N_, format_moment, gettext
from miniprograms.contract import Card, CardAction, Problem, ProblemType, Subject

T = TypeVar("T")

# The problems every mini-program may raise (beyond the core HTTP ones such as ``not_found``):
# code -> (status, title msgid, detail msgid). A program's own codes go in its declaration.
SHARED_PROBLEMS: dict[str, ProblemType] = {
    "real_name_required": ProblemType(
        403,
        N_("Real-name verification needed"),
        N_("Verify your real name with your ID number first, then try again."),
    ),
    "upstream_unavailable": ProblemType(
        503,
        N_("Service temporarily unavailable"),
        N_(
            "The provincial service is not answering just now. Please try again in {seconds} seconds."
        ),
    ),
    "upstream_refused": ProblemType(
        409,
        N_("Request refused"),
        N_("The provincial service refused this request."),
    ),
    "idempotency_key_required": ProblemType(
        428,
        N_("Idempotency-Key header needed"),
        N_("Send an Idempotency-Key header so the request is never filed twice."),
    ),
    "idempotency_key_reused": ProblemType(
        422,
        N_("Idempotency-Key already used"),
        N_("This Idempotency-Key was used for a different request."),
    ),
}

PageNo = Annotated[int, Parameter(ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(ge=1, le=100)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", min_length=8, max_length=64)
]


class Freshness(msgspec.Struct, kw_only=True):
    """When the province said this; ``stale`` when it could not be asked just now."""

    as_of: datetime
    as_of_display: str
    stale: bool


class Page(Freshness, kw_only=True):
    """The shape every paged answer of a mini-program shares: page ``page`` (of
    ``page_size`` items) of ``total``, as of when the province said it. A page type adds
    ``items: list[...]`` and nothing else."""

    page: int
    page_size: int
    total: int


def freshness(fetched: Fetched[Any]) -> dict[str, Any]:
    """The :class:`Freshness` fields of an answer, for a response Struct's constructor."""
    return {
        "as_of": fetched.as_of,
        "as_of_display": format_moment(fetched.as_of),
        "stale": fetched.stale,
    }


def paged(fetched: Fetched[Any]) -> dict[str, Any]:
    """Paging and freshness fields of a paged answer, for a page Struct's constructor."""
    page = fetched.data
    return {
        "page": page.page,
        "page_size": page.page_size,
        "total": page.total,
        **freshness(fetched),
    }


def id_number_of(subject: Subject) -> str:
    """The subject's ID number, or a ``real_name_required`` problem."""
    if not subject.id_number:
        raise Problem("real_name_required")
    return subject.id_number


def upstream_key(subject: Subject, key: str) -> str:
    """The Idempotency-Key as the province sees it: scoped to the resident, because the
    province deduplicates per caller (us), and two residents may well pick the same key."""
    return hashlib.sha256(f"{subject.resident_id}:{key}".encode()).hexdigest()[:40]


def refused(exc: UpstreamRejected, rejections: Mapping[str, str]) -> Problem:
    """The problem a resident sees for a provincial refusal: this mini-program's own code
    for the refusals it knows (``rejections``: upstream code → problem code), else a general one."""
    return Problem(rejections.get(exc.code, "upstream_refused"))


async def upstream(call: Awaitable[T], rejections: Mapping[str, str] | None = None) -> T:
    """Await a provincial call; an unavailable upstream becomes a 503 with Retry-After, and
    with ``rejections`` a refusal becomes this mini-program's problem (see :func:`refused`)."""
    try:
        return await call
    except UpstreamRejected as exc:
        if rejections is None:
            raise
        raise refused(exc, rejections) from exc
    except UpstreamUnavailable as exc:
        seconds = max(1, math.ceil(exc.retry_after_s or 30))
        raise Problem(
            "upstream_unavailable", seconds=seconds, headers={"Retry-After": str(seconds)}
        ) from exc


def path_id(value: str) -> uuid.UUID:
    """The id in a path (or a query naming a row): one that is not a UUID names nothing,
    so it is ``404 not_found`` like any unknown id, never a 500 or a different answer."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Problem("not_found") from None


def real_name_card(card_id: str, title: str, summary: str) -> Card:
    """The card shown before a resident has verified their real name (msgids in, text out)."""
    return Card(
        id=card_id,
        title=gettext(title),
        summary=gettext(summary),
        actions=[
            CardAction(
                id="verify", label=gettext(N_("Verify real name")), href="/api/v1/profile/identity"
            )
        ],
    )
