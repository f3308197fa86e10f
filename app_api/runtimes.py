"""Each installed mini-program's :class:`~miniprograms.contract.Runtime`: built once per
process, handed to its jobs, hooks and dependency providers, started and stopped in order."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import structlog
from saq import CronJob

from app_api import program_settings
from app_api.services import Services
from miniprograms.contract import Job, MiniProgram, Runtime

log = structlog.get_logger("superapp.programs")
Enqueue = Callable[..., Awaitable[Any]]


def build(
    programs: Sequence[MiniProgram], services: Services, enqueue: Enqueue
) -> dict[str, Runtime]:
    """One runtime per program; its ``enqueue`` reaches that program's own jobs only."""

    def enqueue_for(program: MiniProgram) -> Enqueue:
        async def enqueue_own(job: str, **kwargs: Any) -> Any:
            return await enqueue(f"{program.slug}.{job}", **kwargs)

        return enqueue_own

    return {
        program.slug: Runtime(
            slug=program.slug,
            settings=services.settings.programs.get(program.slug)
            or program_settings.read(program, {}),
            clients=services.clients,
            redis=services.redis,
            enqueue=enqueue_for(program),
        )
        for program in programs
    }


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
