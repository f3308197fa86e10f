"""Service settings, read once from ``SUPERAPP_*`` environment variables.

The embedded defaults (SQLite file, in-process fakeredis, development secrets) make
``make run`` work on a bare machine; ``SUPERAPP_ENV=production`` refuses all of them.
"""

from __future__ import annotations

import os
from typing import Literal

import msgspec

DEV_SECRET = "dev-only-secret-change-me"
# 32 zero-ish bytes, base64: good enough to run a demo, refused in production.
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="

Environment = Literal["development", "test", "production"]


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names it."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every knob of the service. Field ``x`` is read from ``SUPERAPP_X``."""

    env: Environment = "development"
    database_url: str = "sqlite://var/superapp.sqlite3"
    redis_url: str = "fakeredis://"
    secret_key: str = DEV_SECRET
    pii_key: str = DEV_PII_KEY
    audit_key: str = DEV_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8001
    sms_gateway_url: str = ""  # default: the sandbox's address
    sms_app_id: str = "superapp-dev"
    sms_app_secret: str = DEV_SECRET
    sms_timeout_s: float = 5.0
    provincial_base_url: str = ""  # default: the sandbox's address
    provincial_app_id: str = "superapp-dev"
    provincial_app_secret: str = DEV_SECRET
    provincial_budget_s: float = 1.5  # all retries of one provincial call
    card_deadline_s: float = 2.0  # a home card gives up after this
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 24 * 3600
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_resend_interval_s: int = 60
    otp_per_phone_per_hour: int = 5
    otp_per_ip_per_hour: int = 20
    # Real-name binding attempts that reach the registry, per day. Per address it is higher:
    # many households share one carrier-grade NAT address.
    identity_checks_per_account_per_day: int = 5
    identity_checks_per_ip_per_day: int = 20
    totp_issuer: str = "宿迁城市通"
    log_level: str = "INFO"
    log_json: bool = True
    inprocess_worker: bool = True
    sandbox_faults: str = (
        ""  # JSON {"upstream": {"kind": ..., "latency_ms": ...}} in force at start
    )
    sandbox: bool = True  # serve starts the sandbox of outside systems (never in production)
    trusted_proxies: tuple[str, ...] = ()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_fakeredis(self) -> bool:
        return self.redis_url.startswith("fakeredis")

    def check(self) -> None:
        """Refuse unsafe settings in production, naming each one that is wrong."""
        if self.env != "production":
            return
        wrong: list[str] = []
        for name in ("secret_key", "audit_key", "sms_app_secret", "provincial_app_secret"):
            value = getattr(self, name)
            if value == DEV_SECRET or len(value) < 32:
                wrong.append(f"SUPERAPP_{name.upper()} must be set to a secret of 32+ characters")
        if self.pii_key == DEV_PII_KEY:
            wrong.append("SUPERAPP_PII_KEY must be set to a fresh base64 32-byte key")
        if self.is_sqlite:
            wrong.append("SUPERAPP_DATABASE_URL must point at PostgreSQL, not SQLite")
        if self.is_fakeredis:
            wrong.append("SUPERAPP_REDIS_URL must point at a Redis server, not fakeredis")
        if self.sandbox:
            wrong.append("SUPERAPP_SANDBOX must be false: production talks to the real gateways")
        if wrong:
            raise SettingsError("refusing to start in production: " + "; ".join(wrong))


def load(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``SUPERAPP_*`` variables (and explicit overrides), then check them."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = environ.get(f"SUPERAPP_{field.name.upper()}")
        if value is not None:
            raw[field.name] = value.split(",") if field.name == "trusted_proxies" else value
    raw.update(overrides)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    # Outside systems default to the sandbox, wherever it was told to listen.
    sandbox_url = f"http://{settings.sandbox_host}:{settings.sandbox_port}"
    settings = msgspec.structs.replace(
        settings,
        sms_gateway_url=settings.sms_gateway_url or sandbox_url,
        provincial_base_url=settings.provincial_base_url or sandbox_url,
    )
    settings.check()
    return settings
