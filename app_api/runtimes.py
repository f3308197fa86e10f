"""Each installed mini-program's :class:`~miniprograms.contract.Runtime`: built once per
process, handed to its jobs, hooks and dependency providers, started and stopped in order."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import structlog
from saq import CronJob

from app_api import program_settings
from app_api.declarations import DeclarationError
from app_api.notices import notify_for
from app_api.services import Services
from app_api.store import ProgramStore
from integrations import clock
from miniprograms.contract import Job, MiniProgram, Runtime

log = structlog.get_logger("superapp.programs")
Enqueue = Callable[..., Awaitable[Any]]


def build(
    programs: Sequence[MiniProgram], services: Services, enqueue: Enqueue
) -> dict[str, Runtime]:
    """One runtime per program: its settings, the clients of the upstreams it brings or
    declares it reads (no others), its own keys in Redis, and an ``enqueue`` that reaches
    its own jobs only."""
    runtimes = {}
    for program in programs:
        writes = notify_for(program, services.outbox)
        runtimes[program.slug] = Runtime(
            slug=program.slug,
            settings=services.settings.programs.get(program.slug)
            or program_settings.read(program, {}),
            clients=clients_of(program, services.clients),
            store=ProgramStore(services.redis, program.slug),
            enqueue=_enqueue_for(program, enqueue),
            notify=writes.notify,
            notify_many=writes.notify_many,
            notify_enterprise=writes.notify_enterprise,
            today=functools.partial(clock.today, services.settings.today),
        )
    return runtimes


def clients_of(program: MiniProgram, clients: Mapping[str, object]) -> Mapping[str, object]:
    """The clients ``program`` may use: those of its own upstreams and the core ones it
    names in ``core_upstreams`` (a consent-bound registry is not every program's to read)."""
    names = {spec.name for spec in program.upstreams} | set(program.core_upstreams)
    unknown = sorted(names - set(clients))
    if unknown:
        raise DeclarationError(f"mini-program {program.slug!r} reads unknown upstreams {unknown}")
    return MappingProxyType({name: clients[name] for name in sorted(names)})


def _enqueue_for(program: MiniProgram, enqueue: Enqueue) -> Enqueue:
    known = {job.__name__ for job in program.jobs}

    async def enqueue_own(job: str, **kwargs: Any) -> Any:
        if job not in known:  # fail here, not later in a worker that cannot run it
            raise LookupError(
                f"mini-program {program.slug!r} has no job {job!r} (its jobs: {sorted(known)})"
            )
        return await enqueue(f"{program.slug}.{job}", **kwargs)

    return enqueue_own


def _bound(job: Job, runtime: Runtime, name: str) -> Callable[..., Awaitable[Any]]:
    """The SAQ function for a program's job: SAQ's context stays here, the job gets its runtime."""

    async def run(_ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await job(runtime, **kwargs)

    run.__name__ = run.__qualname__ = name  # SAQ queues a function under its qualname
    return run


def job_functions(
    programs: Sequence[MiniProgram], runtimes: dict[str, Runtime]
) -> tuple[list[Callable[..., Awaitable[Any]]], list[CronJob]]:
    """Every program's jobs, named ``<slug>.<function>``, and their schedules."""
    functions: list[Callable[..., Awaitable[Any]]] = []
    crons: list[CronJob] = []
    for program in programs:
        bound = {
            job: _bound(job, runtimes[program.slug], program.job_name(job)) for job in program.jobs
        }
        functions.extend(bound.values())
        crons.extend(
            CronJob(bound[cron.job], cron=cron.cron, timeout=cron.timeout_s)
            for cron in program.cron
        )
    return functions, crons


@contextlib.asynccontextmanager
async def started(
    programs: Sequence[MiniProgram], runtimes: dict[str, Runtime]
) -> AsyncIterator[None]:
    """Run the programs' start-up hooks in order, and on the way out the shutdown hooks of
    those that started, in reverse order (one failing shutdown does not skip the others)."""
    done: list[MiniProgram] = []
    try:
        for program in programs:
            if program.on_startup is not None:
                await program.on_startup(runtimes[program.slug])
            done.append(program)
        yield
    finally:
        for program in reversed(done):
            if program.on_shutdown is None:
                continue
            try:
                await program.on_shutdown(runtimes[program.slug])
            except Exception as exc:  # the others must still be stopped
                log.error("program_shutdown_failed", program=program.slug, error=repr(exc))
