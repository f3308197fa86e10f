"""Schemathesis over the served OpenAPI document: no 5xx, no response that breaks its schema.

Every route any issue adds joins this run by being in the document. It runs against the
real service (subprocess), signed in as a resident, so guards and validation are exercised
rather than stopped at the door.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import ON_POSTGRES, REAL_DB, REAL_REDIS
from tests.live import ROOT, LiveService, start_service

FUZZ_PHONE = "13800000001"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[LiveService]:
    extra = {
        "SUPERAPP_OTP_RESEND_INTERVAL_S": "0",
        "SUPERAPP_OTP_PER_PHONE_PER_HOUR": "100000",
        "SUPERAPP_OTP_PER_IP_PER_HOUR": "100000",
    }
    # On CI's second pass the fuzzed service runs on PostgreSQL and Redis too.
    if ON_POSTGRES:
        extra["SUPERAPP_DATABASE_URL"] = REAL_DB
    if REAL_REDIS:
        extra["SUPERAPP_REDIS_URL"] = REAL_REDIS
    service = start_service(Path(tmp_path_factory.mktemp("fuzz")), extra)
    yield service
    service.stop()


def _token(live: LiveService) -> str:
    return live.login(FUZZ_PHONE)


# The committed document; tests/test_http_surface.py proves it matches what is served.
SCHEMA = schemathesis.openapi.from_path(str(ROOT / "openapi" / "openapi.json"))
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
EXAMPLES = int(os.environ.get("SUPERAPP_FUZZ_EXAMPLES", "30"))


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_server_errors_and_responses_match_the_schema(label: str, live: LiveService) -> None:
    operation = OPERATIONS[label]
    # A fresh session per operation: fuzzing logout must not sign the others out.
    headers = {"Authorization": f"Bearer {_token(live)}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case) -> None:
        case.call_and_validate(
            base_url=live.api,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
        )

    run()
