"""The contract between app_api and every mini-program.

A mini-program is a package with ``routes.py service.py models.py schemas.py card.py`` (and,
when it talks to an upstream of its own, ``upstream.py`` and ``sandbox.py``) and one
:class:`MiniProgram` value, registered in ``pyproject.toml`` under the entry-point group
``superapp.miniprograms``. That value declares everything the program brings; app_api
validates it at start-up and mounts it, and never imports a program by name.

Handlers receive the dependencies named in :data:`PROVIDED` from app_api, plus the program's
own ``dependencies``. They raise :class:`Problem` with a code from :data:`SHARED_PROBLEMS`
(``miniprograms.common``) or their own ``problems`` table; app_api renders it as localized
problem+json.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple, Protocol

import msgspec
from litestar import Router

from integrations.provincial import AuditHook, Upstream
from locales import format_day, format_money
from notifications.templates import Template

CardStatus = Literal["ok", "degraded", "unavailable"]


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """The resident a request is about, and who is asking."""

    resident_id: str
    actor_id: str
    id_number: str | None
    name: str | None
    locale: str


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: a resident (for themselves or an elder) or an operator. Operator
    routes use it to record who drafted and who published; the access rule has already
    checked the roles."""

    kind: str  # "resident" or "operator"
    account_id: str


class EnterpriseRef(msgspec.Struct, frozen=True, kw_only=True):
    """An enterprise the calling resident administers (一企一码: the company's own account)."""

    id: str
    credit_code: str
    name: str


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
    """What a mini-program's ``card()`` is given. ``clients`` holds every provincial
    upstream's client by name; a card picks its own with its program's typed accessor
    (e.g. ``social_security_client(ctx.clients)``), which returns the upstream's Protocol."""

    subject: Subject
    clients: Mapping[str, object]
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


class ProblemType(NamedTuple):
    """How a problem code is answered: HTTP status, title and detail msgids (the detail may
    use ``{placeholders}`` filled from the :class:`Problem`'s params)."""

    status: int
    title: str
    detail: str


class Store(Protocol):
    """A program's own keys in Redis (all under ``program:<slug>:``, out of reach of the
    sessions, counters and sealed copies that share the server)."""

    async def get(self, key: str) -> Any: ...
    async def set(
        self, key: str, value: Any, *, ex: int | None = None, nx: bool = False
    ) -> Any: ...
    async def delete(self, key: str) -> int: ...
    async def exists(self, key: str) -> bool: ...
    async def expire(self, key: str, seconds: int) -> bool: ...
    async def incr(self, key: str, amount: int = 1) -> int: ...
    async def hget(self, key: str, field: str) -> Any: ...
    async def hset(self, key: str, mapping: dict[str, Any]) -> int: ...
    async def hgetall(self, key: str) -> dict[str, Any]: ...
    async def rpush(self, key: str, *values: Any) -> int: ...
    async def lrange(self, key: str, start: int, end: int) -> list[Any]: ...


@dataclass(frozen=True)
class Runtime:
    """What app_api hands a mini-program's jobs, start-up/shutdown hooks and dependency
    providers (as the ``runtime`` dependency): its own settings and the outside world."""

    slug: str
    settings: Any  # the program's ``settings`` Struct, read from SUPERAPP_<SLUG>_*; or None
    # The clients of its own upstreams and of the core ones it declares it reads, by name.
    clients: Mapping[str, object]
    store: Store
    # enqueue("job_name", **kwargs): one of its own jobs, by the function's name.
    enqueue: Callable[..., Awaitable[object]]
    # notify(recipient_id, category, template, params, idempotency_key, *, priority="normal",
    # link=None, campaign=None) -> bool: one of its own templates, written in the caller's
    # transaction (roll it back and the message is gone); False when the key was used before.
    notify: Callable[..., Awaitable[bool]]
    # notify_many(addressed, category, template, params, *, priority, link, campaign) -> int:
    # the same to many (notifications.addressed.Addressed: recipient, key, own params) in a
    # few statements per thousand; returns how many were new.
    notify_many: Callable[..., Awaitable[int]]
    # notify_enterprise(enterprise_id, category, template, params, idempotency_key, *,
    # priority, link) -> int: the same message to each of the enterprise's administrators and
    # to each of its active webhooks; returns how many were new. The key leaves room for
    # each administrator's own suffix: slug and key together at most 80 characters.
    notify_enterprise: Callable[..., Awaitable[int]]
    # today() -> date: the service's calendar day in China (pinned by SUPERAPP_TODAY), as
    # handlers get it through the ``today`` dependency.
    today: Callable[[], date]


Job = Callable[..., Awaitable[Any]]  # ``async def job(runtime: Runtime, **kwargs)``
Hook = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class Cron:
    """A job run on a schedule (crontab syntax, in the worker's time zone)."""

    job: Job
    cron: str
    timeout_s: int = 600


@dataclass(frozen=True)
class DemoResident:
    """One resident of the demo city, as a mini-program's demo data may refer to them."""

    id: str
    name: str
    phone: str
    id_number: str | None


@dataclass(frozen=True)
class DemoSeed:
    """What a mini-program's ``demo`` function is given to add its part of the demo city."""

    rng: random.Random
    today: date
    residents: Sequence[DemoResident]


# The dependencies app_api provides to every mini-program's handlers, by name. A handler
# parameter with one of these names receives the value; a program's own ``dependencies``
# may not reuse a name (start-up fails).
PROVIDED: Mapping[str, str] = {
    "subject": "Subject: the resident whose data is served, already authorized",
    "subject_id": "str: that resident's account id",
    "actor": "Actor: who is calling (kind and account id), e.g. the operator on an operator route",
    "today": "date: the service's calendar day in China (pinned by SUPERAPP_TODAY in demos and tests)",
    "enterprises": "Mapping[str, EnterpriseRef]: the enterprises the calling resident "
    "administers, by credit code (empty for everyone else)",
    "audit": "AuditHook: await audit(action, resource, purpose), committed at once",
    "clients": "Mapping[str, object]: every upstream client, by upstream name",
    "runtime": "Runtime: this mini-program's settings, clients, Redis and job queue",
}


@dataclass(frozen=True)
class MiniProgram:
    """Everything a mini-program brings, exported through its entry point.

    app_api validates the declaration at start-up (problem codes that clash with a core
    code or another program's, dependency names app_api provides, settings prefixes that
    clash with core settings, job names) and mounts all of it; it never names a program.
    """

    slug: str
    title: str  # msgid
    router: Callable[[], Router]
    card: Callable[[CardContext], Awaitable[Card]] | None = None
    scopes: Mapping[str, str] = field(default_factory=dict)  # scope -> label msgid
    problems: Mapping[str, ProblemType | tuple[int, str, str]] = field(default_factory=dict)
    order: int = 100  # place on the home screen
    # Providers (plain functions, parameters injected by name) for this program's handlers.
    dependencies: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    upstreams: tuple[Upstream, ...] = ()  # the provincial upstreams it brings (own clients)
    # Core upstreams (e.g. "population") it reads too; no other client is handed to it.
    core_upstreams: tuple[str, ...] = ()
    jobs: tuple[Job, ...] = ()  # runtime.enqueue("<function name>"), queued as "<slug>.<name>"
    cron: tuple[Cron, ...] = ()
    # A msgspec Struct of the program's settings, each field read from
    # SUPERAPP_<SLUG>_<FIELD>; a ``production_problems(self) -> list[str]`` method joins
    # the production checks.
    settings: type[msgspec.Struct] | None = None
    on_startup: Hook | None = None
    on_shutdown: Hook | None = None
    models_module: str | None = None
    migrations_module: str | None = None
    demo: Callable[[DemoSeed], Awaitable[Mapping[str, int]]] | None = None
    # A folder of its own catalogs (<locale>/LC_MESSAGES/messages.po), for a program kept
    # outside this repository; the programs here share the catalogs in locales/.
    catalogs: str | None = None
    # Its notification templates by key (notifications.templates.Template); sent as
    # "<slug>.<key>" through runtime.notify, rendered in each recipient's language.
    templates: Mapping[str, Template] = field(default_factory=dict)

    def job_name(self, job: Job) -> str:
        """The name a job of this program is queued under."""
        return f"{self.slug}.{job.__name__}"
