"""公积金 through the provincial sandbox: account, transactions, loan, withdrawals exactly once."""

from __future__ import annotations

import asyncio
import calendar
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from app_api.audit.chain import AuditEvent
from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from miniprograms.housing_fund.models import WithdrawalApplication
from miniprograms.housing_fund.schemas import WithdrawalRequest
from miniprograms.housing_fund.service import fingerprint
from tests.conftest import ON_POSTGRES, Env

WORKER_WITH_LOAN = "321302198503120137"  # 王建国
WORKER = "321302198201150138"  # 王小明
NO_FUND = "321323199606300137"  # 刘洋
SEALED = "321324197909090242"  # 陈静
PHONE = "13800000001"


def _filed(env: Env) -> int:
    """How many applications the province holds: the truth about "never twice"."""
    return len(env.sandbox.upstream("housing_fund").withdrawals)


async def test_account_transactions_and_loan(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    account = (
        await env.client.get("/api/v1/housing-fund/account", headers=env.auth(tokens))
    ).json()
    assert account["status"] == "normal" and account["status_label"] == "正常"
    assert isinstance(account["balance"]["fen"], int)
    assert account["balance"]["display"].startswith("¥")
    assert account["stale"] is False and account["as_of"]

    english = await env.client.get(
        "/api/v1/housing-fund/account", headers=env.auth(tokens, **{"Accept-Language": "en"})
    )
    assert english.json()["balance"]["display"].startswith("CN¥")
    assert english.json()["balance"]["fen"] == account["balance"]["fen"]

    page = (
        await env.client.get(
            "/api/v1/housing-fund/transactions?page_size=5", headers=env.auth(tokens)
        )
    ).json()
    assert len(page["items"]) == 5 and page["total"] > 5
    assert {"deposit", "loan_repayment"} & {t["kind"] for t in page["items"]}

    loan = (await env.client.get("/api/v1/housing-fund/loan", headers=env.auth(tokens))).json()
    assert loan["balance"]["fen"] < loan["amount"]["fen"]
    assert loan["rate_percent"] == "2.85%"
    assert loan["next_instalment"]["amount"]["fen"] > 0
    # Instalments fall due on the 20th of the month the province's calendar is in.
    today = env.settings.today
    assert today is not None  # the tests pin one date for the API and the sandbox
    due = loan["next_instalment"]["due_on"]
    assert due["date"] == f"{today:%Y-%m}-20"
    assert due["display"] == f"{today.year}年{today.month}月20日"
    english = await env.client.get(
        "/api/v1/housing-fund/loan", headers=env.auth(tokens, **{"Accept-Language": "en"})
    )
    month = calendar.month_abbr[today.month]  # English abbreviations in the C locale
    assert english.json()["next_instalment"]["due_on"]["display"] == f"{month} 20, {today.year}"


async def test_no_account_and_no_loan_are_clear_404s(env: Env) -> None:
    tokens = await env.verified("13800000004", NO_FUND)
    for path, code in (
        ("account", "housing_fund_account_not_found"),
        ("transactions", "housing_fund_account_not_found"),
    ):
        resp = await env.client.get(f"/api/v1/housing-fund/{path}", headers=env.auth(tokens))
        assert resp.status_code == 404 and resp.json()["code"] == code
    worker = await env.verified("13800000005", WORKER)
    resp = await env.client.get("/api/v1/housing-fund/loan", headers=env.auth(worker))
    assert resp.json()["code"] == "housing_fund_loan_not_found"
    assert resp.json()["title"] == "没有公积金贷款"


async def test_services_need_real_name_first(env: Env) -> None:
    tokens = await env.login("13800000009")
    resp = await env.client.get("/api/v1/housing-fund/account", headers=env.auth(tokens))
    assert resp.status_code == 403 and resp.json()["code"] == "real_name_required"


async def _apply(env: Env, tokens: dict, key: str | None, **body):
    headers = env.auth(tokens)
    if key:
        headers["Idempotency-Key"] = key
    return await env.client.post("/api/v1/housing-fund/withdrawals", json=body, headers=headers)


async def test_withdrawal_is_filed_once_per_key(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    key = str(uuid.uuid4())
    first = await _apply(env, tokens, key, reason="rent", amount_fen=150_000)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "reviewing" and body["application_no"].startswith("TQ")
    assert body["amount"]["fen"] == 150_000 and body["reason_label"] == "租房提取"
    again = await _apply(env, tokens, key, reason="rent", amount_fen=150_000)
    assert again.status_code == 200 and again.json() == body
    assert _filed(env) == 1
    status = await env.client.get(
        f"/api/v1/housing-fund/withdrawals/{body['id']}", headers=env.auth(tokens)
    )
    assert status.json()["application_no"] == body["application_no"]


async def test_concurrent_duplicates_file_exactly_one_application(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    env.sandbox.app[FAULTS].set("housing_fund", Fault(kind="latency", latency_ms=150))
    key = str(uuid.uuid4())
    results = await asyncio.gather(
        *(_apply(env, tokens, key, reason="rent", amount_fen=80_000) for _ in range(6))
    )
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert len({r.json()["application_no"] for r in results}) == 1
    assert _filed(env) == 1
    assert await WithdrawalApplication.all().count() == 1


async def test_a_request_that_died_mid_filing_is_completed_by_the_retry(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    me = (await env.client.get("/api/v1/me", headers=env.auth(tokens))).json()
    key = "crashed-request-0001"
    # What a crash between claiming the key and hearing the province's answer leaves behind.
    await WithdrawalApplication.create(
        id=uuid.uuid4(), resident_id=me["id"], idempotency_key=key,
        fingerprint=fingerprint(WithdrawalRequest(reason="rent", amount_fen=50_000)),
        reason="rent", amount_fen=50_000,
    )  # fmt: skip
    await WithdrawalApplication.filter(idempotency_key=key).update(
        submitted_at=datetime.now(UTC) - timedelta(minutes=5)
    )
    retry = await _apply(env, tokens, key, reason="rent", amount_fen=50_000)
    assert retry.status_code == 201
    assert retry.json()["application_no"]
    assert _filed(env) == 1


@asynccontextmanager
async def _claims_refused() -> AsyncIterator[None]:
    """The database refuses every new application as a duplicate, yet no twin is ever found:
    a fault injected in the database, the way a twin that keeps failing and letting go of
    the key would look. Dropped afterwards (PostgreSQL keeps its schema between tests)."""
    conn = connections.get("default")
    if ON_POSTGRES:
        await conn.execute_script(
            "CREATE FUNCTION hf_refuse_claims() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE unique_violation USING MESSAGE = 'refused by the test'; END $$; "
            "CREATE TRIGGER hf_refuse_claims BEFORE INSERT ON hf_withdrawal_application "
            "FOR EACH ROW EXECUTE FUNCTION hf_refuse_claims();"
        )
    else:
        await conn.execute_script(
            "CREATE TRIGGER hf_refuse_claims BEFORE INSERT ON hf_withdrawal_application "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        )
    try:
        yield
    finally:
        if ON_POSTGRES:
            await conn.execute_script(
                "DROP TRIGGER hf_refuse_claims ON hf_withdrawal_application; "
                "DROP FUNCTION hf_refuse_claims();"
            )
        else:
            await conn.execute_script("DROP TRIGGER hf_refuse_claims;")


# A short budget: a twin waits for the key about as long as a filing can take (twice the budget).
@pytest.mark.parametrize(
    "settings_overrides", [{"otp_resend_interval_s": 0, "provincial_budget_s": 0.2}]
)
async def test_a_key_neither_claimed_nor_found_gives_up_at_the_deadline(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    async with _claims_refused():
        # wait_for only turns the old endless loop into a failure; it measures nothing.
        resp = await asyncio.wait_for(
            _apply(env, tokens, str(uuid.uuid4()), reason="rent", amount_fen=1000), 30
        )
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "upstream_unavailable" and "retry-after" in resp.headers
    assert _filed(env) == 0
    assert await WithdrawalApplication.all().count() == 0


@pytest.mark.parametrize(
    ("identity", "body", "status", "code"),
    [
        (
            WORKER_WITH_LOAN,
            {"reason": "rent", "amount_fen": 10**8},
            422,
            "withdrawal_exceeds_balance",
        ),
        (SEALED, {"reason": "rent", "amount_fen": 10_000}, 409, "housing_fund_sealed"),
        (NO_FUND, {"reason": "rent", "amount_fen": 10_000}, 404, "housing_fund_account_not_found"),
        (WORKER_WITH_LOAN, {"reason": "lottery", "amount_fen": 10_000}, 422, "validation_failed"),
        (WORKER_WITH_LOAN, {"reason": "rent", "amount_fen": 0}, 422, "validation_failed"),
        (WORKER_WITH_LOAN, {"reason": "rent", "amount_fen": 12.5}, 422, "validation_failed"),
        (WORKER_WITH_LOAN, {"reason": "rent"}, 422, "validation_failed"),
        (
            WORKER_WITH_LOAN,
            {"reason": "rent", "amount_fen": 100, "note": "x"},
            422,
            "validation_failed",
        ),
    ],
)
async def test_refused_withdrawals_file_nothing(
    env: Env, identity: str, body: dict, status: int, code: str
) -> None:
    tokens = await env.verified(PHONE, identity)
    resp = await _apply(env, tokens, str(uuid.uuid4()), **body)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code
    assert _filed(env) == 0
    assert await WithdrawalApplication.all().count() == 0


async def test_idempotency_key_is_required_and_bound_to_its_request(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    missing = await _apply(env, tokens, None, reason="rent", amount_fen=1000)
    assert missing.status_code == 428 and missing.json()["code"] == "idempotency_key_required"
    key = str(uuid.uuid4())
    assert (await _apply(env, tokens, key, reason="rent", amount_fen=1000)).status_code == 201
    other = await _apply(env, tokens, key, reason="rent", amount_fen=2000)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _filed(env) == 1


async def test_the_same_key_from_two_residents_files_two_applications(env: Env) -> None:
    """The key is the resident's own: the province deduplicates per caller (us), so it must
    see the key scoped to the resident, or one resident would get the other's application."""
    first = await env.verified(PHONE, WORKER_WITH_LOAN)
    second = await env.verified("13800000005", WORKER)
    answers = []
    for tokens, amount in ((first, 1000), (second, 2000)):
        resp = await _apply(env, tokens, "my-first-withdrawal", reason="rent", amount_fen=amount)
        assert resp.status_code == 201, resp.text
        answers.append(resp.json())
    assert answers[0]["application_no"] != answers[1]["application_no"]
    assert [a["amount"]["fen"] for a in answers] == [1000, 2000]
    assert _filed(env) == 2


async def test_upstream_outage_files_nothing_and_the_key_can_be_retried(env: Env) -> None:
    tokens = await env.verified(PHONE, WORKER_WITH_LOAN)
    key = str(uuid.uuid4())
    env.sandbox.app[FAULTS].set("housing_fund", Fault(kind="error"))
    down = await _apply(env, tokens, key, reason="rent", amount_fen=1000)
    assert down.status_code == 503 and down.json()["code"] == "upstream_unavailable"
    assert "retry-after" in down.headers
    assert await WithdrawalApplication.all().count() == 0
    env.sandbox.app[FAULTS].clear()
    assert (await _apply(env, tokens, key, reason="rent", amount_fen=1000)).status_code == 201
    assert _filed(env) == 1


async def test_someone_elses_application_is_not_found(env: Env) -> None:
    owner = await env.verified(PHONE, WORKER_WITH_LOAN)
    made = (await _apply(env, owner, str(uuid.uuid4()), reason="rent", amount_fen=1000)).json()
    other = await env.verified("13800000005", WORKER)
    for path in (made["id"], "not-a-uuid", str(uuid.uuid4())):
        resp = await env.client.get(
            f"/api/v1/housing-fund/withdrawals/{path}", headers=env.auth(other)
        )
        assert resp.status_code == 404


async def test_relative_reads_within_scope_and_both_are_audited(env: Env) -> None:
    elder = await env.verified("13800000002", "321311195208210247", name="李秀英")
    child = await env.verified("13800000005", WORKER, name="王小明")
    elder_id = elder["account"]["id"]
    as_elder = env.auth(child, **{"X-Act-As": elder_id})
    assert (await env.client.get("/api/v1/housing-fund/account", headers=as_elder)).json()[
        "code"
    ] == "delegation_denied"
    await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000005", "scopes": ["view_housing_fund"]},
        headers=env.auth(elder),
    )
    account = await env.client.get("/api/v1/housing-fund/account", headers=as_elder)
    assert account.status_code == 200 and account.json()["status"] == "sealed"
    # Viewing is granted, applying is not.
    apply = await env.client.post(
        "/api/v1/housing-fund/withdrawals",
        json={"reason": "retirement", "amount_fen": 1000},
        headers={**as_elder, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert apply.json()["code"] == "delegation_denied"
    event = await AuditEvent.filter(action="provincial.housing_fund.read").order_by("-seq").first()
    assert (event.actor_id, event.subject_id, event.purpose) == (
        child["account"]["id"],
        elder_id,
        "housing_fund_service",
    )
