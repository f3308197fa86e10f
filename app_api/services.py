"""The per-process collaborators that handlers and jobs are given."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from app_api.audit.chain import AuditLog
from app_api.identity.crypto import PiiVault
from app_api.miniprogram import installed
from app_api.miniprogram import upstreams as installed_upstreams
from app_api.notices import build_outbox
from app_api.settings import Settings
from integrations.provincial import Gateway, Upstream, build_clients
from integrations.sms import SmsClient
from miniprograms.contract import Runtime
from notifications.outbox import Outbox


@dataclass
class Services:
    """Built once in the app lifespan; provided to handlers as ``services``."""

    settings: Settings
    redis: Redis
    vault: PiiVault
    audit: AuditLog
    sms: SmsClient
    gateway: Gateway  # the provincial gateway's transport (cache, breakers, forget_person)
    # Every provincial upstream's typed client, by upstream name; each is found through its
    # accessor, which returns its Protocol (e.g. ``population_client(services.clients)``).
    clients: dict[str, object]
    outbox: Outbox  # notifications, written in the caller's transaction
    # Each installed mini-program's runtime, by slug (filled in by app_api.lifespan).
    runtimes: dict[str, Runtime] = field(default_factory=dict)

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A stable, secret-keyed digest for Redis keys and stored secrets (codes, tokens)."""
        key = self.settings.secret_key.encode()
        return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    async def close(self) -> None:
        """Close the clients of outside systems built here (the Redis client is the caller's)."""
        try:
            await self.sms.close()
        finally:
            await self.gateway.close()


def build_services(
    settings: Settings, redis: Redis, upstreams: Sequence[Upstream] | None = None
) -> Services:
    """The collaborators; ``upstreams`` default to the core ones and the installed programs'."""
    vault = PiiVault(settings.pii_key)
    gateway = Gateway(
        settings.provincial_base_url,
        settings.provincial_app_id,
        settings.provincial_app_secret,
        redis,
        vault.derive_key("upstream-cache"),
        budget_s=settings.provincial_budget_s,
        today=settings.today,
    )
    clients = build_clients(gateway, installed_upstreams() if upstreams is None else upstreams)
    return Services(
        settings=settings,
        redis=redis,
        vault=vault,
        audit=AuditLog(settings.audit_key),
        sms=SmsClient(
            settings.sms_gateway_url,
            settings.sms_app_id,
            settings.sms_app_secret,
            timeout_s=settings.sms_timeout_s,
        ),
        gateway=gateway,
        clients=clients,
        outbox=build_outbox(installed(), daily_cap=settings.notification_daily_cap),
    )
