"""An Idempotency-Key is the resident's own: two residents who pick the same key get their
own certificates, never each other's (found while hardening: the key went to the province
unscoped, and the province deduplicates per caller, which is us)."""

from __future__ import annotations

from tests.conftest import Env

WORKER = "321302198503120137"  # 王建国
RETIREE = "321311195208210247"  # 李秀英


async def test_the_same_key_from_two_residents_gives_two_certificates(env: Env) -> None:
    first = await env.verified("13800000001", WORKER)
    second = await env.verified("13800000002", RETIREE)
    answers = []
    for tokens in (first, second):
        resp = await env.client.post(
            "/api/v1/social-security/certificates",
            json={"purpose": "housing"},
            headers=env.auth(tokens, **{"Idempotency-Key": "my-first-certificate"}),
        )
        assert resp.status_code == 201, resp.text
        answers.append(resp.json())
    assert answers[0]["certificate_no"] != answers[1]["certificate_no"]
    assert answers[0]["months_paid"] != answers[1]["months_paid"]
