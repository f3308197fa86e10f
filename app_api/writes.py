"""One transaction for a write request and its audit rows: both land, or neither does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Request
from tortoise.transactions import in_transaction

from app_api.deps import AuditBuffer


@asynccontextmanager
async def audited_write(
    request: Request, subject_id: str | None = None
) -> AsyncIterator[AuditBuffer]:
    """Open a transaction; entries given to the yielded buffer are chained into the audit log
    inside it, just before it commits. An exception rolls back the write and its entries.

    Keep outside calls (the province, SMS) out of the block: a transaction must not wait on
    a system we do not own.
    """
    buffer = AuditBuffer(request, subject_id)
    async with in_transaction():
        yield buffer
        await buffer.flush()
