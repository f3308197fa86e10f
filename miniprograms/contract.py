"""The contract between app_api and every mini-program.

A mini-program is a package with ``routes.py service.py models.py schemas.py card.py`` and
one :class:`MiniProgram` value, registered in ``pyproject.toml`` under the entry-point
group ``superapp.miniprograms``. app_api mounts its router under ``/api/v1``, asks it for
its home card, and adds its delegation scopes; it never imports a mini-program by name.

Handlers receive these dependencies from app_api by name: ``subject`` (:class:`Subject`,
the resident whose data is served, already authorized), ``provincial`` (the
:class:`~integrations.provincial.ProvincialClient`) and ``audit`` (a callable
``await audit(action, resource, purpose)``). They raise :class:`Problem` with a code from
their ``problems`` table; app_api renders it as localized problem+json.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import msgspec
from litestar import Router

from integrations.provincial import AuditHook, ProvincialClient
from locales import format_day, format_money

CardStatus = Literal["ok", "degraded", "unavailable"]


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """The resident a request is about, and who is asking."""

    resident_id: str
    actor_id: str
    id_number: str | None
    name: str | None
    locale: str


class Problem(Exception):
    """An error the client should see, identified by a stable code (see ``problems`` tables)."""

    def __init__(
        self,
        code: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        **params: object,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.headers = headers or {}
        self.errors = errors


class Money(msgspec.Struct, frozen=True):
    """An amount in integer fen with its display in the reader's locale."""

    fen: int
    display: str


def money(fen: int) -> Money:
    return Money(fen=fen, display=format_money(fen))


class Day(msgspec.Struct, frozen=True):
    """A calendar date (ISO) with its display in the reader's locale."""

    date: str
    display: str


def day(value: str | date) -> Day:
    """``2026-11-20`` as ``{"date": "2026-11-20", "display": "2026年11月20日"}``."""
    parsed = value if isinstance(value, date) else date.fromisoformat(value[:10])
    return Day(date=parsed.isoformat(), display=format_day(parsed))


@dataclass(frozen=True)
class CardContext:
    """What a mini-program's ``card()`` is given."""

    subject: Subject
    provincial: ProvincialClient
    audit: AuditHook


class CardAction(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    href: str


class Card(msgspec.Struct, kw_only=True):
    """One tile of the home screen."""

    id: str
    title: str
    summary: str
    status: CardStatus = "ok"
    as_of: datetime | None = None
    retry_after_s: int | None = None
    actions: list[CardAction] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class MiniProgram:
    """What a mini-program exports through its entry point."""

    slug: str
    title: str
    router: Callable[[], Router]
    card: Callable[[CardContext], Awaitable[Card]]
    scopes: dict[str, str] = field(default_factory=dict)  # scope -> label msgid
    problems: dict[str, tuple[int, str, str]] = field(
        default_factory=dict
    )  # code -> status, title, detail
    order: int = 100
    models_module: str | None = None
    migrations_module: str | None = None
