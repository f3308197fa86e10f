"""Settings come from SUPERAPP_* variables; production refuses unsafe defaults by name."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from app_api.settings import DEV_PII_KEY, SettingsError, load

SAFE_PRODUCTION = {
    "SUPERAPP_ENV": "production",
    "SUPERAPP_DATABASE_URL": "postgres://app:pw@127.0.0.1:5432/superapp",
    "SUPERAPP_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SUPERAPP_SECRET_KEY": "s" * 40,
    "SUPERAPP_AUDIT_KEY": "a" * 40,
    "SUPERAPP_SMS_APP_SECRET": "m" * 40,
    "SUPERAPP_PROVINCIAL_APP_SECRET": "p" * 40,
    "SUPERAPP_PII_KEY": base64.b64encode(b"k" * 32).decode(),
    "SUPERAPP_SANDBOX": "false",
    "SUPERAPP_SMS_GATEWAY_URL": "https://sms.example.gov.cn",
    "SUPERAPP_SMS_APP_ID": "suqian-citizen-app",
    "SUPERAPP_PROVINCIAL_BASE_URL": "https://gateway.js.example.gov.cn/api",
    "SUPERAPP_PROVINCIAL_APP_ID": "321300-citizen-app",
    "SUPERAPP_SMS_RECEIPT_SECRET": "r" * 40,
    "SUPERAPP_FCM_SERVICE_ACCOUNT": "/etc/superapp/firebase-service-account.json",
}


def test_environment_variables_are_read_and_typed() -> None:
    cfg = load({"SUPERAPP_PORT": "9001", "SUPERAPP_LOG_JSON": "false", "SUPERAPP_OTP_TTL_S": "120"})
    assert (cfg.port, cfg.log_json, cfg.otp_ttl_s) == (9001, False, 120)


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="port"):
        load({"SUPERAPP_PORT": "eighty"})


def test_safe_production_settings_load() -> None:
    assert load(SAFE_PRODUCTION).env == "production"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SUPERAPP_SECRET_KEY", None, "SUPERAPP_SECRET_KEY"),
        ("SUPERAPP_SECRET_KEY", "short", "SUPERAPP_SECRET_KEY"),
        ("SUPERAPP_AUDIT_KEY", None, "SUPERAPP_AUDIT_KEY"),
        ("SUPERAPP_PII_KEY", None, "SUPERAPP_PII_KEY"),
        ("SUPERAPP_SMS_APP_SECRET", None, "SUPERAPP_SMS_APP_SECRET"),
        ("SUPERAPP_PROVINCIAL_APP_SECRET", None, "SUPERAPP_PROVINCIAL_APP_SECRET"),
        ("SUPERAPP_DATABASE_URL", "sqlite://var/prod.sqlite3", "SUPERAPP_DATABASE_URL"),
        ("SUPERAPP_DATABASE_URL", None, "SUPERAPP_DATABASE_URL"),
        ("SUPERAPP_REDIS_URL", "fakeredis://", "SUPERAPP_REDIS_URL"),
        ("SUPERAPP_SANDBOX", "true", "SUPERAPP_SANDBOX"),
        # Unset gateway addresses default to the sandbox; production must name the real ones.
        ("SUPERAPP_SMS_GATEWAY_URL", None, "SUPERAPP_SMS_GATEWAY_URL"),
        ("SUPERAPP_SMS_GATEWAY_URL", "http://127.0.0.1:8001/", "SUPERAPP_SMS_GATEWAY_URL"),
        ("SUPERAPP_PROVINCIAL_BASE_URL", None, "SUPERAPP_PROVINCIAL_BASE_URL"),
        ("SUPERAPP_PROVINCIAL_BASE_URL", "http://localhost:8001", "SUPERAPP_PROVINCIAL_BASE_URL"),
        ("SUPERAPP_SMS_APP_ID", None, "SUPERAPP_SMS_APP_ID"),
        ("SUPERAPP_SMS_APP_ID", "superapp-dev", "SUPERAPP_SMS_APP_ID"),
        ("SUPERAPP_PROVINCIAL_APP_ID", None, "SUPERAPP_PROVINCIAL_APP_ID"),
        ("SUPERAPP_PROVINCIAL_APP_ID", "", "SUPERAPP_PROVINCIAL_APP_ID"),
        # The development PII key is long enough to pass as a secret; it is still public.
        ("SUPERAPP_AUDIT_KEY", DEV_PII_KEY, "SUPERAPP_AUDIT_KEY"),
        # A pinned date is for demos and tests; production's records follow the calendar.
        ("SUPERAPP_TODAY", "2030-01-01", "SUPERAPP_TODAY"),
        # Receipts signed with the sandbox's development secret could be forged by anyone.
        ("SUPERAPP_SMS_RECEIPT_SECRET", None, "SUPERAPP_SMS_RECEIPT_SECRET"),
        ("SUPERAPP_FCM_SERVICE_ACCOUNT", None, "SUPERAPP_FCM_SERVICE_ACCOUNT"),
        ("SUPERAPP_FCM_BASE_URL", "http://127.0.0.1:8001", "SUPERAPP_FCM_BASE_URL"),
    ],
)
def test_production_refuses_each_unsafe_default(
    variable: str, value: str | None, named: str
) -> None:
    environ = dict(SAFE_PRODUCTION)
    if value is None:
        environ.pop(variable)
    else:
        environ[variable] = value
    with pytest.raises(SettingsError) as caught:
        load(environ)
    assert named in str(caught.value)
    # Only the wrong setting is named.
    others = {k for k in SAFE_PRODUCTION if k != variable and k != "SUPERAPP_ENV"}
    assert not any(other in str(caught.value) for other in others)


def test_production_refuses_the_sandbox_wherever_it_was_told_to_listen() -> None:
    environ = {
        **SAFE_PRODUCTION,
        "SUPERAPP_SANDBOX_HOST": "10.0.0.5",
        "SUPERAPP_SANDBOX_PORT": "9001",
        "SUPERAPP_PROVINCIAL_BASE_URL": "http://10.0.0.5:9001",
    }
    with pytest.raises(SettingsError, match="SUPERAPP_PROVINCIAL_BASE_URL"):
        load(environ)


def test_production_accepts_a_gateway_behind_a_local_egress_proxy() -> None:
    # Loopback alone is no sign of the sandbox: a forward proxy on this host is a real setup.
    environ = {**SAFE_PRODUCTION, "SUPERAPP_PROVINCIAL_BASE_URL": "http://127.0.0.1:9443/province"}
    assert load(environ).provincial_base_url == "http://127.0.0.1:9443/province"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SUPERAPP_SECRET_KEY", "SUPERAPP_AUDIT_KEY"),
        ("SUPERAPP_SMS_APP_SECRET", "SUPERAPP_PROVINCIAL_APP_SECRET"),
        ("SUPERAPP_AUDIT_KEY", "SUPERAPP_PROVINCIAL_APP_SECRET"),
        ("SUPERAPP_PII_KEY", "SUPERAPP_SECRET_KEY"),
    ],
)
def test_production_refuses_one_key_for_two_purposes(first: str, second: str) -> None:
    # A leaked gateway secret must not also forge the audit chain or open personal numbers.
    environ = {**SAFE_PRODUCTION, second: SAFE_PRODUCTION[first]}
    with pytest.raises(SettingsError) as caught:
        load(environ)
    message = str(caught.value)
    assert first in message and second in message
    others = {k for k in SAFE_PRODUCTION if k not in (first, second, "SUPERAPP_ENV")}
    assert not any(other in message for other in others)


def test_serve_refuses_to_start_in_production_with_defaults() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUPERAPP_")}
    environ["SUPERAPP_ENV"] = "production"
    run = subprocess.run(
        [sys.executable, "-m", "app_api", "serve"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "refusing to start in production" in run.stderr
    assert "SUPERAPP_SECRET_KEY" in run.stderr and "SUPERAPP_DATABASE_URL" in run.stderr
