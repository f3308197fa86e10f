"""What one process of the service opens and closes: the app's lifespan and every CLI command.

``serve`` and the commands that touch the database, Redis or the outside systems go through
:func:`running`, so they are wired one way and nothing they open outlives them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import NamedTuple

from app_api import db, kv, logs, notices, runtimes
from app_api.auth import state
from app_api.jobs import JobRunner
from app_api.miniprogram import installed
from app_api.services import Services, build_services
from app_api.settings import Settings


class Running(NamedTuple):
    """The process's collaborators while :func:`running` is open (unpacks as a pair)."""

    services: Services
    jobs: JobRunner


@asynccontextmanager
async def running(
    settings: Settings, *, start_worker: bool = False, configure_logs: bool = True
) -> AsyncIterator[Running]:
    """Open the database, Redis, the services and the job queue (and, if asked, a worker).

    Everything opened is closed in the reverse order when the block ends, also when it
    fails; a close that fails does not keep the ones after it from running.
    ``configure_logs=False`` leaves logging as it is (one-shot commands print plain lines).
    """
    if configure_logs:
        logs.configure(settings.log_level, json=settings.log_json)
    async with AsyncExitStack() as opened:
        await db.init(settings.database_url)
        opened.push_async_callback(db.close)
        redis = kv.connect(settings.redis_url)
        opened.push_async_callback(redis.aclose)
        state.bind(redis)
        services = build_services(settings, redis)
        opened.push_async_callback(services.close)
        jobs = JobRunner(settings, services)
        opened.push_async_callback(jobs.close)
        programs = installed()
        services.runtimes = runtimes.build(programs, services, jobs.enqueue)
        jobs.add(*runtimes.job_functions(programs, services.runtimes))
        if start_worker:
            await jobs.start_worker()
            dispatcher = notices.build_dispatcher(services, programs)
            await opened.enter_async_context(notices.dispatching(dispatcher))
        await opened.enter_async_context(runtimes.started(programs, services.runtimes))
        yield Running(services, jobs)
