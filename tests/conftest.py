"""Shared fixtures: a migrated database, an empty Redis, the sandbox and the API per test.

The embedded defaults (SQLite file, in-process fakeredis) are used unless
``SUPERAPP_DATABASE_URL`` / ``SUPERAPP_REDIS_URL`` point at real servers, as ``.ci/run``
does for its second pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pyotp
import pytest
from aiohttp import web
from litestar import Litestar
from redis.asyncio import Redis

from app_api import db, kv, notices, settings
from app_api.app import create_app
from app_api.miniprogram import installed, upstreams
from integrations import clock
from integrations.provincial import cache
from integrations.sandbox import SMS, UPSTREAMS, SandboxConfig, run_sandbox
from integrations.sandbox.google_oauth import development_service_account
from integrations.sandbox.registry import registered_name
from notifications.channels import Channel
from notifications.dispatcher import Dispatcher
from tests.asgi import serve_asgi

REAL_DB = os.environ.get("SUPERAPP_DATABASE_URL", "")
REAL_REDIS = os.environ.get("SUPERAPP_REDIS_URL", "")
ON_POSTGRES = REAL_DB.startswith(("postgres://", "asyncpg://", "psql://"))
APP_ID = "superapp-test"
APP_SECRET = "test-secret-for-signing-0123456789"
# One calendar date for the whole run, shared by the API and the sandbox (so no test straddles
# midnight or a month's end): today in China, or SUPERAPP_TODAY=YYYY-MM-DD to run as of then.
TODAY = (
    date.fromisoformat(os.environ["SUPERAPP_TODAY"])
    if os.environ.get("SUPERAPP_TODAY")
    else clock.today()
)


# One development FCM service-account key for the run: the sandbox trusts it, the API signs
# with it (making an RSA key per test would cost more than most tests).
FCM_KEY = Path(tempfile.mkdtemp(prefix="superapp-fcm-")) / "fcm-dev-service-account.json"
FCM_KEY.write_text(json.dumps(development_service_account("http://127.0.0.1:9")))


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _pg_reset_schema(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _pg_truncate(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
            )
        ]
        if tables:
            # TRUNCATE fires no row triggers, so the append-only audit table can be emptied here.
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run: PostgreSQL in place, or an SQLite file copied per test."""
    if ON_POSTGRES:
        asyncio.run(_pg_reset_schema(REAL_DB))
        asyncio.run(db.migrate(REAL_DB))
        return REAL_DB
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(db.migrate(f"sqlite://{path}"))
    return str(path)


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    if ON_POSTGRES:
        await _pg_truncate(REAL_DB)
        return REAL_DB
    path = tmp_path / "superapp.sqlite3"
    shutil.copy(migrated_template, path)
    return f"sqlite://{path}"


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    if REAL_REDIS:
        client = Redis.from_url(REAL_REDIS)
        await client.flushdb()
        await client.aclose()
        yield REAL_REDIS
        return
    url = f"fakeredis://test-{uuid.uuid4().hex}"
    yield url
    kv.forget_fake(url)


@dataclass
class Sandbox:
    runner: web.AppRunner
    url: str

    @property
    def app(self) -> web.Application:
        return self.runner.app

    def sms_codes(self, phone: str) -> list[str]:
        return [m["params"]["code"] for m in self.app[SMS].outbox if m["phone"] == phone]

    def upstream(self, name: str) -> Any:
        """What the sandbox's handler of a provincial upstream keeps (certificates issued,
        withdrawals filed, the population registry...)."""
        return self.app[UPSTREAMS][name].state


@pytest.fixture
def today() -> date:
    """The date the API and the sandbox both take as today; parametrize it to run as of another."""
    return TODAY


@pytest.fixture
async def sandbox(today: date) -> AsyncIterator[Sandbox]:
    runner = await run_sandbox(
        SandboxConfig(
            app_secrets={APP_ID: APP_SECRET},
            today=today,
            upstreams=upstreams(),
            fcm_accounts=(json.loads(FCM_KEY.read_text()),),
        ),
        "127.0.0.1",
        0,
    )
    host, port = runner.addresses[0][:2]
    yield Sandbox(runner, f"http://{host}:{port}")
    await runner.cleanup()


def make_settings(
    database_url: str, redis_url: str, sandbox_url: str, **overrides: Any
) -> settings.Settings:
    overrides.setdefault("today", TODAY)  # the sandbox fixture's date
    return settings.load(
        {},
        env="test",
        database_url=database_url,
        redis_url=redis_url,
        sms_gateway_url=sandbox_url,
        sms_app_id=APP_ID,
        sms_app_secret=APP_SECRET,
        sms_timeout_s=2.0,
        provincial_base_url=sandbox_url,
        provincial_app_id=APP_ID,
        provincial_app_secret=APP_SECRET,
        fcm_service_account=str(FCM_KEY),
        fcm_base_url=sandbox_url,
        inprocess_worker=False,
        sandbox=False,
        **overrides,
    )


async def age_upstream_copies(copies: cache.ResponseCache, seconds: float) -> None:
    """Make every cached provincial answer ``seconds`` older, as time would."""
    await copies.settle()
    redis = copies.redis
    for key in await redis.keys(f"{cache.KEY_PREFIX}*"):
        fetched_at, sealed = cache.parse(await redis.get(key))
        await redis.set(key, cache.compose(fetched_at - seconds, sealed), keepttl=True)


@dataclass
class Env:
    """One running API with its sandbox, and helpers that act as a phone app would."""

    client: httpx.AsyncClient
    app: Litestar
    sandbox: Sandbox
    settings: settings.Settings
    opened: list[Channel] = field(default_factory=list)  # closed when the test ends

    def dispatcher(self, clock: Callable[[], datetime], **options: Any) -> Dispatcher:
        """A dispatcher over this app's channels (push, SMS, webhooks) with its own clock, as
        a worker process would run one."""
        built = notices.build_dispatcher(self.app.state.services, installed())
        self.opened.extend(built.channels.values())
        return Dispatcher(
            built.channels,
            built.templates,
            notices.recipients,
            clock=clock,
            webhook_disabled=built.webhook_disabled,
            **options,
        )

    async def request_code(self, phone: str) -> str:
        resp = await self.client.post("/api/v1/auth/otp", json={"phone": phone})
        assert resp.status_code == 202, resp.text
        return self.sandbox.sms_codes(re.sub(r"\D", "", phone)[-11:])[-1]

    async def login(self, phone: str, portal: str = "resident") -> dict[str, Any]:
        code = await self.request_code(phone)
        resp = await self.client.post(
            "/api/v1/auth/login", json={"phone": phone, "code": code, "portal": portal}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def verified(self, phone: str, id_number: str, name: str | None = None) -> dict[str, Any]:
        """Sign in and bind a real name and ID number, as a resident does before using services.

        The sandbox's registry first records the phone as registered to that number (a
        carrier's real-name record), and the name defaults to the one it holds.
        """
        self.sandbox.upstream("population").registry.register_phone(phone, id_number)
        name = name or registered_name(id_number)
        tokens = await self.login(phone)
        resp = await self.client.put(
            "/api/v1/profile/identity",
            json={"name": name, "id_number": id_number},
            headers=self.auth(tokens),
        )
        assert resp.status_code == 200, resp.text
        return tokens

    async def enrol_totp(self, tokens: dict[str, Any]) -> tuple[pyotp.TOTP, list[str]]:
        """Set up an authenticator for the signed-in account; returns it and the recovery codes."""
        enrol = await self.client.post("/api/v1/auth/totp/enrolment", headers=self.auth(tokens))
        assert enrol.status_code == 200, enrol.text
        totp = pyotp.TOTP(enrol.json()["secret"])
        confirm = await self.client.post(
            "/api/v1/auth/totp/confirmation", json={"code": totp.now()}, headers=self.auth(tokens)
        )
        assert confirm.status_code == 200, confirm.text
        return totp, confirm.json()["recovery_codes"]

    @staticmethod
    def auth(tokens: dict[str, Any], **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}", **headers}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override per module to tune throttles; resends are unthrottled by default in tests."""
    return {"otp_resend_interval_s": 0}


@pytest.fixture
async def env(
    database_url: str,
    redis_url: str,
    sandbox: Sandbox,
    settings_overrides: dict[str, Any],
    today: date,
) -> AsyncIterator[Env]:
    cfg = make_settings(
        database_url, redis_url, sandbox.url, **{"today": today, **settings_overrides}
    )
    app = create_app(cfg, start_worker=False)
    async with serve_asgi(app) as client:
        made = Env(client=client, app=app, sandbox=sandbox, settings=cfg)
        yield made
        for channel in made.opened:
            await channel.close()


class Clock:
    """A dispatcher's or outbox's notion of now, moved by the test as time would move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
