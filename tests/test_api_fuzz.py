"""Schemathesis with every check over the served OpenAPI document finds nothing.

Every check means: no 5xx, every status, content type, header and body as documented,
schema-violating requests refused, schema-valid ones accepted, missing auth and required
headers refused, undeclared methods answered 405 with ``Allow`` — over the examples,
coverage, fuzzing and stateful phases. It runs against the real service (subprocess), signed
in as a resident and as an operator past TOTP, so guards and validation are exercised rather
than stopped at the door; every route any issue adds joins the run by being in the document.
The settings the checks take are in ``schemathesis.toml``; signing in is ``tests/fuzz_auth.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from redis import Redis

from tests.conftest import ON_POSTGRES, REAL_DB, REAL_REDIS, _pg_truncate
from tests.live import ROOT, LiveService, sign_in, start_service

ACCOUNTS = {"resident": "13800000001", "operator": "13900000002"}  # demo: 王建国, 孙审
EXAMPLES = os.environ.get("SUPERAPP_FUZZ_EXAMPLES", "30")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[LiveService]:
    # The fuzzer's own sign-ins must not be throttled (a 429 would still be as documented).
    extra = {
        "SUPERAPP_OTP_RESEND_INTERVAL_S": "0",
        "SUPERAPP_OTP_PER_PHONE_PER_HOUR": "100000",
        "SUPERAPP_OTP_PER_IP_PER_HOUR": "100000",
        "SUPERAPP_LOGIN_PER_IP_PER_HOUR": "100000",
    }
    # On CI's second pass the fuzzed service runs on PostgreSQL and Redis too, emptied first
    # so that the demo city (and its operators) is seeded.
    if ON_POSTGRES:
        asyncio.run(_pg_truncate(REAL_DB))
        extra["SUPERAPP_DATABASE_URL"] = REAL_DB
    if REAL_REDIS:
        with Redis.from_url(REAL_REDIS) as redis:
            redis.flushdb()
        extra["SUPERAPP_REDIS_URL"] = REAL_REDIS
    service = start_service(Path(tmp_path_factory.mktemp("fuzz")), extra)
    yield service
    service.stop()


def session(live: LiveService, portal: str) -> dict[str, str]:
    """A session to fuzz with; an operator's has enrolled and passed TOTP (assurance level 2)."""
    pair = sign_in(live.api, live.sandbox, ACCOUNTS[portal], portal)
    if portal == "operator":
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        enrolment = httpx.post(f"{live.api}/api/v1/auth/totp/enrolment", headers=auth)
        enrolment.raise_for_status()
        code = pyotp.TOTP(enrolment.json()["secret"]).now()
        httpx.post(
            f"{live.api}/api/v1/auth/totp/confirmation", json={"code": code}, headers=auth
        ).raise_for_status()
    return pair


def fuzz_command(api: str) -> list[str]:
    """``schemathesis run`` with every check (the README shows the same command)."""
    schemathesis = Path(sys.executable).parent / "schemathesis"
    return [
        str(schemathesis),
        "run",
        f"{api}/schema/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES}",
        "--generation-database=none",
        "--no-color",
    ]


@pytest.mark.parametrize("portal", sorted(ACCOUNTS))
def test_schemathesis_with_every_check_finds_nothing(portal: str, live: LiveService) -> None:
    pair = session(live, portal)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.fuzz_auth",
        "SUPERAPP_FUZZ_API": live.api,
        "SUPERAPP_FUZZ_SANDBOX": live.sandbox,
        "SUPERAPP_FUZZ_PHONE": ACCOUNTS[portal],
        "SUPERAPP_FUZZ_PORTAL": portal,
        "SUPERAPP_FUZZ_ACCESS_TOKEN": pair["access_token"],
        "SUPERAPP_FUZZ_REFRESH_TOKEN": pair["refresh_token"],
    }
    run = subprocess.run(
        fuzz_command(live.api), cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    assert run.returncode == 0, f"{run.stdout[-40_000:]}\n{run.stderr[-5_000:]}"
