"""Schemathesis hooks: the fuzzer signs in through the API, as a resident or an operator.

Loaded by ``schemathesis run`` with ``SCHEMATHESIS_HOOKS=tests.fuzz_auth`` (see
``tests/test_api_fuzz.py``). Read from the environment:

- ``SUPERAPP_FUZZ_API``, ``SUPERAPP_FUZZ_SANDBOX``: the service and its sandbox;
- ``SUPERAPP_FUZZ_PHONE``, ``SUPERAPP_FUZZ_PORTAL``: who signs in (``resident`` or ``operator``);
- ``SUPERAPP_FUZZ_ACCESS_TOKEN``, ``SUPERAPP_FUZZ_REFRESH_TOKEN``: the session to fuzz with. An
  operator's has passed TOTP already (a second step-up within 30 s would be a replayed code),
  and refreshing it keeps that level.

Logging out ends a session, so every logout case gets a session of its own.
"""

from __future__ import annotations

import os

import httpx
import schemathesis

from tests.live import sign_in

LOGOUT = "/api/v1/auth/logout"


def _env(name: str) -> str:
    return os.environ[f"SUPERAPP_FUZZ_{name}"]


def _bearer(case: schemathesis.Case, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.auth(refresh_interval=None).apply_to(path=LOGOUT)
class SessionToEnd:
    """A fresh session for every logout case."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        pair = sign_in(_env("API"), _env("SANDBOX"), _env("PHONE"), _env("PORTAL"))
        return pair["access_token"]

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        _bearer(case, data)


@schemathesis.auth(refresh_interval=600, retry_on=[]).skip_for(path=LOGOUT)
class Session:
    """The given session; refreshed (rotating the refresh token) when the cache expires."""

    def __init__(self) -> None:
        self.refresh_token: str | None = None

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        if self.refresh_token is None:
            self.refresh_token = _env("REFRESH_TOKEN")
            return _env("ACCESS_TOKEN")
        pair = httpx.post(
            f"{_env('API')}/api/v1/auth/refresh", json={"refresh_token": self.refresh_token}
        )
        pair.raise_for_status()
        self.refresh_token = pair.json()["refresh_token"]
        return pair.json()["access_token"]

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        _bearer(case, data)
