"""社保 through the provincial sandbox: summary, contributions by month, pensions, certificates."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from app_api.audit.chain import AuditEvent
from miniprograms.social_security.models import IssuedCertificate
from tests.conftest import Env

WORKER = "321302198503120137"  # 王建国
RETIREE = "321311195208210247"  # 李秀英
UNEMPLOYED = "32132219901102013X"  # 张伟


async def test_summary_of_a_worker(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER)
    resp = await env.client.get("/api/v1/social-security/summary", headers=env.auth(tokens))
    assert resp.status_code == 200
    body = resp.json()
    pension = next(i for i in body["insured"] if i["type"] == "pension")
    assert (pension["status"], pension["label"], pension["status_label"]) == (
        "paying",
        "养老保险",
        "正常缴费",
    )
    assert {i["type"] for i in body["insured"]} == {
        "pension",
        "medical",
        "unemployment",
        "work_injury",
        "maternity",
    }
    assert body["months_paid"] > 200
    assert body["personal_account"]["fen"] > 0 and body["personal_account"]["display"].startswith(
        "¥"
    )
    assert body["paying_city"] == "宿迁市"
    assert body["stale"] is False


async def test_unemployed_and_retired_situations(env: Env) -> None:
    jobless = await env.verified("13800000003", UNEMPLOYED)
    summary = (
        await env.client.get("/api/v1/social-security/summary", headers=env.auth(jobless))
    ).json()
    statuses = {i["type"]: i["status"] for i in summary["insured"]}
    assert statuses["unemployment"] == "receiving" and statuses["pension"] == "suspended"
    retiree = await env.verified("13800000002", RETIREE)
    pensions = (
        await env.client.get(
            "/api/v1/social-security/pension-payments?page_size=3", headers=env.auth(retiree)
        )
    ).json()
    assert len(pensions["items"]) == 3 and pensions["total"] > 100
    assert pensions["items"][0]["period"] > pensions["items"][1]["period"]  # newest first


async def test_contributions_by_month_range(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER)
    resp = await env.client.get(
        "/api/v1/social-security/contributions?from=2026-01&to=2026-03&page_size=100",
        headers=env.auth(tokens),
    )
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert {i["period"] for i in items} == {"2026-01", "2026-02", "2026-03"}
    assert len(items) == 15  # five insurance types a month
    pension = next(i for i in items if i["type"] == "pension")
    assert pension["personal"]["fen"] == pension["base"]["fen"] * 8 // 100
    paged = await env.client.get(
        "/api/v1/social-security/contributions?from=2026-01&to=2026-03&page=2&page_size=10",
        headers=env.auth(tokens),
    )
    assert len(paged.json()["items"]) == 5 and paged.json()["total"] == 15
    default = await env.client.get(
        "/api/v1/social-security/contributions", headers=env.auth(tokens)
    )
    assert default.status_code == 200 and default.json()["total"] > 0


def _months_back(day: date, count: int) -> list[str]:
    """The ``count`` months before ``day``'s month, oldest first, as YYYY-MM."""
    index = day.year * 12 + day.month - 1
    return [f"{(i // 12):04d}-{(i % 12 + 1):02d}" for i in range(index - count, index)]


@pytest.mark.parametrize("today", [date(2027, 1, 15), date(2030, 6, 30)])
async def test_the_default_range_holds_the_last_twelve_months_in_any_year(
    env: Env, today: date
) -> None:
    """With no range asked for, a resident sees the last twelve months: up to this month,
    whose contributions the province has not booked yet. The API and the sandbox read one
    calendar (``SUPERAPP_TODAY`` pins it), so this holds next year as it does this year."""
    tokens = await env.verified("13800000001", WORKER)
    resp = await env.client.get(
        "/api/v1/social-security/contributions?page_size=100", headers=env.auth(tokens)
    )
    assert resp.status_code == 200, resp.text
    assert sorted({i["period"] for i in resp.json()["items"]}) == _months_back(today, 11)
    retiree = await env.verified("13800000002", RETIREE)
    pensions = await env.client.get(
        "/api/v1/social-security/pension-payments?page_size=1", headers=env.auth(retiree)
    )
    assert pensions.json()["items"][0]["period"] == _months_back(today, 1)[0]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13&to=2026-12",
        "from=2026-05&to=2026-01",
        "from=2010-01&to=2026-01",
        "from=26-01",
        "from=2026-1",
        "from=abcd-ef",
        "page=0",
        "page_size=101",
        "page_size=-1",
    ],
)
async def test_bad_ranges_and_pages_are_refused(env: Env, query: str) -> None:
    tokens = await env.verified("13800000001", WORKER)
    resp = await env.client.get(
        f"/api/v1/social-security/contributions?{query}", headers=env.auth(tokens)
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] in ("month_range_invalid", "validation_failed")


async def test_certificate_is_issued_once_per_key_and_recorded(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER)
    headers = env.auth(tokens, **{"Idempotency-Key": "cert-key-0001"})
    first = await env.client.post(
        "/api/v1/social-security/certificates", json={"purpose": "housing"}, headers=headers
    )
    assert first.status_code == 201, first.text
    again = await env.client.post(
        "/api/v1/social-security/certificates", json={"purpose": "housing"}, headers=headers
    )
    assert again.json()["certificate_no"] == first.json()["certificate_no"]
    assert len(first.json()["verification_code"]) == 8
    assert len(env.sandbox.upstream("social_security").certificates) == 1
    assert await IssuedCertificate.all().count() == 1
    bad = await env.client.post(
        "/api/v1/social-security/certificates", json={"purpose": "bribe"}, headers=headers
    )
    assert bad.status_code == 422
    # The same key for another purpose is another request: refused, not the old certificate.
    other = await env.client.post(
        "/api/v1/social-security/certificates",
        json={"purpose": "school_enrolment"},
        headers=headers,
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(env.sandbox.upstream("social_security").certificates) == 1


async def test_every_read_is_audited_with_its_purpose(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER)
    await env.client.get("/api/v1/social-security/summary", headers=env.auth(tokens))
    await env.client.get(
        "/api/v1/social-security/summary", headers=env.auth(tokens)
    )  # from cache: still a read
    events = await AuditEvent.filter(action="provincial.social_security.read")
    assert len(events) == 2
    assert {e.purpose for e in events} == {"social_security_service"}
    assert all(e.subject_id == tokens["account"]["id"] for e in events)


async def test_relative_needs_the_social_security_scope(env: Env) -> None:
    elder = await env.verified("13800000002", RETIREE)
    child = await env.verified("13800000005", "321302198201150138")
    as_elder = env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    denied = await env.client.get("/api/v1/social-security/summary", headers=as_elder)
    assert denied.status_code == 403 and denied.json()["code"] == "delegation_denied"
    await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000005", "scopes": ["view_social_security"]},
        headers=env.auth(elder),
    )
    allowed = await env.client.get("/api/v1/social-security/summary", headers=as_elder)
    assert allowed.status_code == 200
    assert (
        next(i for i in allowed.json()["insured"] if i["type"] == "pension")["status"]
        == "receiving"
    )


async def test_a_relative_who_may_look_may_not_issue_a_certificate(env: Env) -> None:
    """Seeing an elder's records and getting documents in their name are separate trusts."""
    elder = await env.verified("13800000002", RETIREE)
    child = await env.verified("13800000005", "321302198201150138")
    as_elder = env.auth(child, **{"X-Act-As": elder["account"]["id"]})

    async def grant(scopes: list[str]) -> None:
        resp = await env.client.post(
            "/api/v1/delegations",
            json={"relative_phone": "13800000005", "scopes": scopes},
            headers=env.auth(elder),
        )
        assert resp.status_code == 201, resp.text

    async def certificate() -> httpx.Response:
        return await env.client.post(
            "/api/v1/social-security/certificates", json={"purpose": "housing"}, headers=as_elder
        )

    await grant(["view_social_security"])
    denied = await certificate()
    assert denied.status_code == 403 and denied.json()["code"] == "delegation_denied"
    assert not env.sandbox.upstream("social_security").certificates
    await grant(["issue_social_security_certificate"])
    issued = await certificate()
    assert issued.status_code == 201, issued.text
    assert len(env.sandbox.upstream("social_security").certificates) == 1
