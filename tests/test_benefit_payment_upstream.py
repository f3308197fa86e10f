"""The benefit payment upstream (免申即享 grants) against its sandbox: a grant is paid
exactly once, however often and however concurrently it is asked, and a timeout followed by
a retry with the same grant id does not pay twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from app_api import kv
from app_api.miniprogram import upstreams
from integrations.provincial import (
    Gateway,
    UpstreamPolicy,
    UpstreamRejected,
    UpstreamUnavailable,
    build_clients,
)
from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from miniprograms.policy_push.sandbox import BenefitPaymentSandbox
from miniprograms.policy_push.upstream import (
    NAME,
    UPSTREAM,
    BenefitPaymentUpstream,
    Payment,
    benefit_payment_client,
)
from tests.conftest import APP_ID, APP_SECRET, Sandbox

RESIDENT = "321302198503120137"
COMPANY = "913213024JURQ283FA"  # app_api.demo.make_credit_code(Random(1), "321302")
DOCUMENT = "宿政发〔2026〕12号"
PATH = "/gov/v1/benefit-payment/payments"
WRITE = ("provincial.benefit_payment.write", PATH, "pay_grant")


class Audit:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def __call__(self, action: str, resource: str, purpose: str) -> None:
        self.calls.append((action, resource, purpose))


@pytest.fixture
async def payments(sandbox: Sandbox, redis_url: str) -> AsyncIterator[BenefitPaymentUpstream]:
    """The payment client as the service builds it, with short timeouts."""
    redis = kv.connect(redis_url)
    gateway = Gateway(sandbox.url, APP_ID, APP_SECRET, redis, b"b" * 32)
    policy = UpstreamPolicy(attempt_timeout_s=0.3, budget_s=0.8, retries=2, breaker_threshold=50)
    yield benefit_payment_client(build_clients(gateway, [replace(UPSTREAM, policy=policy)]))
    await gateway.close()
    await redis.aclose()


def _ledger(sandbox: Sandbox) -> BenefitPaymentSandbox:
    return sandbox.upstream(NAME)


async def _admin_list(sandbox: Sandbox) -> list[dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.url}/admin/benefit-payment/payments") as resp,
    ):
        assert resp.status == 200
        return (await resp.json())["items"]


def _grant() -> str:
    return str(uuid.uuid4())


def test_the_policy_push_program_brings_the_upstream() -> None:
    assert NAME in [u.name for u in upstreams()]


async def test_a_grant_is_paid_once_and_can_be_looked_up(
    payments: BenefitPaymentUpstream, sandbox: Sandbox
) -> None:
    audit, grant = Audit(), _grant()
    paid = await payments.pay(
        grant, RESIDENT, "resident", DOCUMENT, 80_000, audit=audit, purpose="pay_grant"
    )
    assert paid.grant_id == grant and paid.amount_fen == 80_000
    assert paid.status == "paid" and paid.paid_at is not None and paid.reason is None
    assert audit.calls == [WRITE]
    fetched = await payments.payment(grant, audit=audit, purpose="check_grant")
    assert fetched.data == paid and not fetched.stale
    assert audit.calls[1] == ("provincial.benefit_payment.read", f"{PATH}/{grant}", "check_grant")
    listed = await _admin_list(sandbox)
    assert [(p["grant_id"], p["payee"], p["amount_fen"]) for p in listed] == [
        (grant, RESIDENT, 80_000)
    ]


async def test_a_large_grant_to_an_enterprise_is_accepted_then_settled(
    payments: BenefitPaymentUpstream, sandbox: Sandbox
) -> None:
    grant = _grant()
    made = await payments.pay(
        grant, COMPANY, "enterprise", DOCUMENT, 2_000_000, audit=Audit(), purpose="pay_grant"
    )
    assert made.status == "accepted" and made.paid_at is None
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{sandbox.url}/admin/benefit-payment/payments/{grant}",
            json={"status": "rejected", "reason": "account closed"},
        ) as resp,
    ):
        assert resp.status == 200
    fetched = await payments.payment(grant, audit=Audit(), purpose="check_grant")
    assert fetched.data == Payment(
        made.payment_id, grant, "rejected", 2_000_000, reason="account closed"
    )


async def test_the_same_grant_twice_pays_once(
    payments: BenefitPaymentUpstream, sandbox: Sandbox
) -> None:
    audit, grant = Audit(), _grant()
    first = await payments.pay(
        grant, RESIDENT, "resident", DOCUMENT, 50_000, audit=audit, purpose="pay_grant"
    )
    again = await payments.pay(
        grant, RESIDENT, "resident", DOCUMENT, 50_000, audit=audit, purpose="pay_grant"
    )
    assert again == first
    assert list(_ledger(sandbox).payments) == [grant]
    assert audit.calls == [WRITE, WRITE]  # each write is audited, the repeat too


async def test_ten_concurrent_payments_of_one_grant_pay_once(
    payments: BenefitPaymentUpstream, sandbox: Sandbox
) -> None:
    audit, grant = Audit(), _grant()
    answers = await asyncio.gather(
        *(
            payments.pay(
                grant, COMPANY, "enterprise", DOCUMENT, 300_000, audit=audit, purpose="pay_grant"
            )
            for _ in range(10)
        )
    )
    assert len({a.payment_id for a in answers}) == 1
    assert len(await _admin_list(sandbox)) == 1
    assert audit.calls == [WRITE] * 10


@pytest.mark.parametrize(
    "changed",
    [
        {"amount_fen": 60_000},
        {"payee": "321311195208210247"},
        {"payee": COMPANY, "payee_kind": "enterprise"},
        {"document_no": "宿政发〔2026〕13号"},
    ],
)
async def test_a_repeat_with_other_details_is_refused(
    payments: BenefitPaymentUpstream, sandbox: Sandbox, changed: dict
) -> None:
    grant = _grant()
    asked = {"payee": RESIDENT, "payee_kind": "resident", "document_no": DOCUMENT}
    first = await payments.pay(grant, **asked, amount_fen=50_000, audit=Audit(), purpose="p")
    with pytest.raises(UpstreamRejected) as caught:
        await payments.pay(
            grant, **{**asked, "amount_fen": 50_000, **changed}, audit=Audit(), purpose="p"
        )
    assert caught.value.code == "PAYMENT_CONFLICT" and caught.value.status == 409
    assert len(await _admin_list(sandbox)) == 1
    assert (await payments.payment(grant, audit=Audit(), purpose="p")).data == first


@pytest.mark.parametrize(
    ("fault", "paid_in_the_dark"),
    [
        (Fault(kind="timeout"), 0),  # hangs before the province pays
        (Fault(kind="latency", latency_ms=2_000), 1),  # pays, then the answer comes too late
    ],
    ids=["hang-before-paying", "hang-after-paying"],
)
async def test_a_timeout_then_a_retry_pays_exactly_once(
    payments: BenefitPaymentUpstream, sandbox: Sandbox, fault: Fault, paid_in_the_dark: int
) -> None:
    audit, grant = Audit(), _grant()
    sandbox.app[FAULTS].set(NAME, fault)
    with pytest.raises(UpstreamUnavailable) as caught:
        await payments.pay(
            grant, RESIDENT, "resident", DOCUMENT, 70_000, audit=audit, purpose="pay_grant"
        )
    assert caught.value.code in ("timeout", "budget_exhausted")
    # The gateway retried inside its budget with the same key: nothing more was paid.
    assert len(_ledger(sandbox).payments) == paid_in_the_dark
    sandbox.app[FAULTS].clear()
    paid = await payments.pay(
        grant, RESIDENT, "resident", DOCUMENT, 70_000, audit=audit, purpose="pay_grant"
    )
    assert paid.status == "paid"
    listed = await _admin_list(sandbox)
    assert [p["payment_id"] for p in listed] == [paid.payment_id]
    assert audit.calls == [WRITE, WRITE]  # audited before each write was sent, failed or not


@pytest.mark.parametrize(
    ("payee", "kind", "amount"),
    [
        (RESIDENT, "resident", 0),
        (RESIDENT, "resident", -100),
        (RESIDENT, "resident", 10_000_001),
        ("32130219850312013", "resident", 100),  # 17 characters
        (COMPANY, "resident", 100),  # a credit code is no ID number
        (RESIDENT + "0", "enterprise", 100),
    ],
)
async def test_invalid_payments_are_refused(
    payments: BenefitPaymentUpstream, sandbox: Sandbox, payee: str, kind, amount: int
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await payments.pay(_grant(), payee, kind, DOCUMENT, amount, audit=Audit(), purpose="p")
    assert caught.value.code == "INVALID_PARAMETER" and caught.value.status == 400
    assert _ledger(sandbox).payments == {}


async def test_the_largest_grant_is_accepted(
    payments: BenefitPaymentUpstream, sandbox: Sandbox
) -> None:
    made = await payments.pay(
        _grant(), RESIDENT, "resident", DOCUMENT, 10_000_000, audit=Audit(), purpose="p"
    )
    assert made.status == "accepted"


async def test_an_unknown_grant_is_not_found(payments: BenefitPaymentUpstream) -> None:
    audit = Audit()
    with pytest.raises(UpstreamRejected) as caught:
        await payments.payment(_grant(), audit=audit, purpose="check_grant")
    assert caught.value.code == "PAYMENT_NOT_FOUND"
    assert len(audit.calls) == 1
