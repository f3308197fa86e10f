"""The sandbox speaks openapi/provincial.yaml: fuzzed, correctly signed requests get answers
that fit the contract's own schemas, and never a server error."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app_api.miniprogram import upstreams
from integrations.sandbox import SandboxConfig, run_sandbox
from integrations.signing import signed_headers
from tests.conftest import APP_ID, APP_SECRET
from tests.live import ROOT

CONTRACT = schemathesis.openapi.from_path(str(ROOT / "openapi" / "provincial.yaml"))
OPERATIONS = {op.label: op for op in (r.ok() for r in CONTRACT.get_all_operations())}
EXAMPLES = int(os.environ.get("SUPERAPP_FUZZ_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The sandbox on its own thread, as the outside system it plays."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict = {}

    async def main() -> None:
        holder["runner"] = await run_sandbox(
            SandboxConfig(app_secrets={APP_ID: APP_SECRET}, upstreams=upstreams()), "127.0.0.1", 0
        )
        started.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(main()), loop.run_forever()), daemon=True
    )
    thread.start()
    started.wait(10)
    host, port = holder["runner"].addresses[0][:2]
    yield f"http://{host}:{port}"
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)


def _send(base: str, case) -> httpx.Response:
    path = case.formatted_path
    query = {k: str(v) for k, v in (case.query or {}).items()}
    body = (
        json.dumps(case.body).encode()
        if case.body is not None and case.method.upper() == "POST"
        else b""
    )
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    headers.update(signed_headers(APP_ID, APP_SECRET, case.method, path, query, body))
    if body:
        headers["Content-Type"] = "application/json"
    return httpx.request(
        case.method, base + path, params=query, content=body or None, headers=headers, timeout=5
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_sandbox_answers_fit_the_contract(label: str, sandbox_url: str) -> None:
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case) -> None:
        case.validate_response(
            _send(sandbox_url, case), checks=[not_a_server_error, response_schema_conformance]
        )

    run()


def test_known_people_get_full_answers_that_fit(sandbox_url: str) -> None:
    """Random ID numbers mostly hit PERSON_NOT_FOUND; the demo's test persons exercise the 200s."""
    from integrations.sandbox.people import DEMO_PEOPLE

    statuses = []
    for label, operation in OPERATIONS.items():
        if not label.startswith("GET") or "{" in label or "enterprise" in label:
            continue
        for id_number in DEMO_PEOPLE:
            case = operation.Case(query={"id_number": id_number, "consent_ref": "consent-1"})
            response = _send(sandbox_url, case)
            statuses.append(response.status_code)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
    assert statuses.count(200) > len(statuses) // 2
