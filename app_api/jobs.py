"""Background work on SAQ over Redis: in-process in embedded mode, separate workers in production.

Core jobs are plain async functions taking the SAQ context; ``ctx["services"]`` holds the
process's :class:`~app_api.services.Services`. Mini-programs' jobs are added by
:mod:`app_api.runtimes`, named ``<slug>.<function>``, and receive their program's runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from prometheus_client import Gauge
from saq import CronJob, Worker
from saq.queue.redis import RedisQueue

from app_api import kv
from app_api.services import Services
from app_api.settings import Settings

QUEUE_NAME = "superapp"
log = structlog.get_logger("superapp.jobs")
AUDIT_CHAIN_BROKEN = Gauge(
    "superapp_audit_chain_broken", "1 when the last audit chain check found tampering"
)


async def verify_audit_chain(ctx: dict[str, Any]) -> dict[str, Any]:
    """Nightly: walk the audit chain and alert (log + metric) on the first broken row; when it
    holds, record a signed checkpoint of its head and log it for operators to keep elsewhere."""
    services: Services = ctx["services"]
    report = await services.audit.verify_and_checkpoint("nightly")
    AUDIT_CHAIN_BROKEN.set(0 if report.ok else 1)
    checkpoint = str(report.checkpoint) if report.checkpoint else None
    if report.ok:
        log.info("audit_chain_ok", checked=report.checked, checkpoint=checkpoint)
    else:
        log.error("audit_chain_broken", seq=report.bad_seq, problem=report.problem)
    return {"ok": report.ok, "checked": report.checked, "bad_seq": report.bad_seq}


FUNCTIONS = [verify_audit_chain]
CRON_JOBS = [CronJob(verify_audit_chain, cron="17 3 * * *", timeout=3600)]


class _QuietWorker(Worker):
    """A SAQ worker that leaves signals to its host (uvicorn or the worker command)."""

    SIGNALS = []  # noqa: RUF012 - overrides SAQ's class attribute


class JobRunner:
    """The queue of this process and, when asked, a worker consuming it."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.queue = RedisQueue(kv.connect(settings.redis_url, decode=False), name=QUEUE_NAME)
        self._services = services
        self._functions: list[Any] = list(FUNCTIONS)
        self._cron_jobs: list[CronJob] = list(CRON_JOBS)
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, functions: list[Any], cron_jobs: list[CronJob]) -> None:
        """More jobs (the mini-programs'), before a worker is made."""
        self._functions.extend(functions)
        self._cron_jobs.extend(cron_jobs)

    def worker(self, concurrency: int = 4) -> Worker:
        async def startup(ctx: dict[str, Any]) -> None:
            ctx["services"] = self._services

        return _QuietWorker(
            self.queue,
            functions=self._functions,
            cron_jobs=self._cron_jobs,
            startup=startup,
            concurrency=concurrency,
            dequeue_timeout=1.0,
        )

    async def start_worker(self) -> None:
        """Run a worker inside this process (embedded mode)."""
        await self.queue.connect()
        self._worker = self.worker()
        self._task = asyncio.create_task(self._worker.start(), name="saq-worker")

    async def enqueue(self, function: str, **kwargs: Any) -> Any:
        return await self.queue.enqueue(function, **kwargs)

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.queue.disconnect()
