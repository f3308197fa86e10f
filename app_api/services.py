"""The per-process collaborators that handlers and jobs are given."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from redis.asyncio import Redis

from app_api.audit.chain import AuditLog
from app_api.identity.crypto import PiiVault
from app_api.settings import Settings
from integrations.provincial import ProvincialClient, UpstreamPolicy
from integrations.provincial.policy import UPSTREAMS
from integrations.sms import SmsClient


@dataclass
class Services:
    """Built once in the app lifespan; provided to handlers as ``services``."""

    settings: Settings
    redis: Redis
    vault: PiiVault
    audit: AuditLog
    sms: SmsClient
    provincial: ProvincialClient

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A stable, secret-keyed digest for Redis keys and stored secrets (codes, tokens)."""
        key = self.settings.secret_key.encode()
        return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def build_services(settings: Settings, redis: Redis) -> Services:
    vault = PiiVault(settings.pii_key)
    policy = UpstreamPolicy(budget_s=settings.provincial_budget_s)
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
        provincial=ProvincialClient(
            settings.provincial_base_url,
            settings.provincial_app_id,
            settings.provincial_app_secret,
            redis,
            vault.derive_key("upstream-cache"),
            policies=dict.fromkeys(UPSTREAMS, policy),
            today=settings.today,
        ),
    )
