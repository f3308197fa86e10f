"""Service settings, read once from ``SUPERAPP_*`` environment variables.

The embedded defaults (SQLite file, in-process fakeredis, development secrets) make
``make run`` work on a bare machine; ``SUPERAPP_ENV=production`` refuses all of them.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from app_api import program_settings
from app_api.addresses import AddressError, trusted_networks
from app_api.miniprogram import installed

DEV_SECRET = "dev-only-secret-change-me"
# 32 zero-ish bytes, base64: good enough to run a demo, refused in production.
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="
DEV_APP_ID = "superapp-dev"
DEV_RECEIPT_SECRET = "sandbox-sms-receipts-development-secret"  # the sandbox gateway's
DEV_FCM_KEY = "var/fcm-dev-service-account.json"  # made on first use; only the sandbox trusts it
# The sandbox's default address: a gateway URL there is the simulator, whatever it is called.
SANDBOX_DEFAULT_PORT = 8001
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})
# Each secret keys one thing; a value shared by two lets a leak of one forge the other.
SECRET_SETTINGS = (
    "secret_key",
    "pii_key",
    "audit_key",
    "sms_app_secret",
    "provincial_app_secret",
    "sms_receipt_secret",
)
GATEWAY_SETTINGS = (("sms_gateway_url", "sms_app_id"), ("provincial_base_url", "provincial_app_id"))

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
    # API processes of `serve` (also `--workers`); above 1 they share sessions through Redis.
    workers: Annotated[int, msgspec.Meta(ge=1)] = 1
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8001
    sms_gateway_url: str = ""  # default: the sandbox's address
    sms_app_id: str = DEV_APP_ID
    sms_app_secret: str = DEV_SECRET
    sms_timeout_s: float = 5.0
    # The gateway signs its delivery receipts as this caller (the sandbox's development
    # identity by default; production refuses it).
    sms_receipt_app_id: str = "sandbox-sms-gateway"
    sms_receipt_secret: str = DEV_RECEIPT_SECRET
    provincial_base_url: str = ""  # default: the sandbox's address
    provincial_app_id: str = DEV_APP_ID
    provincial_app_secret: str = DEV_SECRET
    provincial_budget_s: float = 1.5  # all retries of one provincial call
    # Push through FCM HTTP v1: the Firebase project, its service-account key file (unset: a
    # development key made in var/ that only the sandbox trusts) and the FCM address (unset:
    # the sandbox's; Google's in production).
    fcm_project_id: str = "superapp-dev"
    fcm_service_account: str = ""
    fcm_base_url: str = ""
    card_deadline_s: float = 2.0  # a home card gives up after this
    # Pins the calendar date (YYYY-MM-DD) for the service and its sandbox alike, for demos
    # and tests; unset, both read today's date in China (integrations/clock.py).
    today: date | None = None
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 24 * 3600
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_resend_interval_s: int = 60
    otp_per_phone_per_hour: int = 5
    otp_per_ip_per_hour: int = 20
    # Sign-in and second-factor attempts per client address and hour, whatever the account:
    # generous for a household behind one NAT address, tight for a guessing script.
    login_per_ip_per_hour: int = 60
    totp_per_ip_per_hour: int = 60
    delegations_per_account_per_day: int = 20  # grants a resident may make in a day
    # Policy and announcement messages that may reach a phone a day; the rest wait for a digest.
    notification_daily_cap: Annotated[int, msgspec.Meta(ge=1)] = 3
    totp_max_failures: int = 5  # wrong codes (TOTP or recovery) before the factor locks
    totp_lock_s: int = 900
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
    # Each installed mini-program's own settings Struct, by slug (SUPERAPP_<SLUG>_<FIELD>).
    programs: dict[str, Any] = msgspec.field(default_factory=dict)

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
        for name in (
            "secret_key",
            "audit_key",
            "sms_app_secret",
            "provincial_app_secret",
            "sms_receipt_secret",
        ):
            value = getattr(self, name)
            if value in (DEV_SECRET, DEV_PII_KEY, DEV_RECEIPT_SECRET) or len(value) < 32:
                wrong.append(f"SUPERAPP_{name.upper()} must be set to a secret of 32+ characters")
        if self.pii_key in (DEV_PII_KEY, DEV_SECRET):
            wrong.append("SUPERAPP_PII_KEY must be set to a fresh base64 32-byte key")
        wrong.extend(self._shared_secrets())
        for url_name, app_id_name in GATEWAY_SETTINGS:
            if self._is_sandbox_address(getattr(self, url_name)):
                wrong.append(
                    f"SUPERAPP_{url_name.upper()} must be set to the real gateway, "
                    "not the sandbox's address"
                )
            if getattr(self, app_id_name) in (DEV_APP_ID, ""):
                wrong.append(
                    f"SUPERAPP_{app_id_name.upper()} must be set to the app id the gateway issued"
                )
        if self.is_sqlite:
            wrong.append("SUPERAPP_DATABASE_URL must point at PostgreSQL, not SQLite")
        if self.is_fakeredis:
            wrong.append("SUPERAPP_REDIS_URL must point at a Redis server, not fakeredis")
        if self.sandbox:
            wrong.append("SUPERAPP_SANDBOX must be false: production talks to the real gateways")
        if self.today is not None:
            wrong.append("SUPERAPP_TODAY must be unset: production reads the real date")
        if not self.fcm_service_account:
            wrong.append("SUPERAPP_FCM_SERVICE_ACCOUNT must name the Firebase service-account key")
        if self.fcm_base_url:
            wrong.append("SUPERAPP_FCM_BASE_URL must be unset: production pushes through Google")
        wrong.extend(program_settings.production_problems(self.programs))
        if wrong:
            raise SettingsError("refusing to start in production: " + "; ".join(wrong))

    def _shared_secrets(self) -> list[str]:
        """Name every pair of secret settings holding one value (development values aside)."""
        seen: dict[str, str] = {}
        wrong: list[str] = []
        for name in SECRET_SETTINGS:
            value = getattr(self, name)
            if value in (DEV_SECRET, DEV_PII_KEY, DEV_RECEIPT_SECRET):
                continue  # already refused on its own
            if value in seen:
                wrong.append(
                    f"SUPERAPP_{seen[value].upper()} and SUPERAPP_{name.upper()} must be "
                    "different keys: one key, one purpose"
                )
            else:
                seen[value] = name
        return wrong

    def _is_sandbox_address(self, url: str) -> bool:
        """Whether ``url`` reaches the sandbox: its configured address, or its default one."""
        parsed = urlsplit(url)
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            return False  # not a URL we can place; the client will fail loudly on it
        host = (parsed.hostname or "").lower()
        sandbox_host = self.sandbox_host.lower()
        if host in LOOPBACK_HOSTS and (
            port == SANDBOX_DEFAULT_PORT
            or (port == self.sandbox_port and sandbox_host in LOOPBACK_HOSTS)
        ):
            return True
        return (host, port) == (sandbox_host, self.sandbox_port)


def load(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``SUPERAPP_*`` variables (and explicit overrides), then check them."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        if field.name == "programs":
            continue
        value = environ.get(f"SUPERAPP_{field.name.upper()}")
        if value is not None:
            raw[field.name] = value.split(",") if field.name == "trusted_proxies" else value
    programs = overrides.pop("programs", None)
    raw.update(overrides)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
        programs = programs or program_settings.read_all(installed(), environ)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    except program_settings.ProgramSettingsError as exc:
        raise SettingsError(str(exc)) from None
    try:
        trusted_networks(settings.trusted_proxies)
    except AddressError as exc:
        raise SettingsError(str(exc)) from None
    # Outside systems default to the sandbox, wherever it was told to listen.
    sandbox_url = f"http://{settings.sandbox_host}:{settings.sandbox_port}"
    settings = msgspec.structs.replace(
        settings,
        sms_gateway_url=settings.sms_gateway_url or sandbox_url,
        provincial_base_url=settings.provincial_base_url or sandbox_url,
        fcm_base_url=settings.fcm_base_url or ("" if settings.env == "production" else sandbox_url),
        fcm_service_account=settings.fcm_service_account
        or ("" if settings.env == "production" else DEV_FCM_KEY),
        programs=programs,
    )
    settings.check()
    return settings
