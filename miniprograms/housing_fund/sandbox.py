"""The housing fund upstream as the sandbox plays it (``/gov/v1/housing-fund/*`` of
``openapi/provincial.yaml``). Development and tests only: :func:`routes` is named by
``UPSTREAM.sandbox``.

Accounts and loans follow the person (``integrations.sandbox.people``); withdrawals are
filed once per idempotency key and move on with time.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import IDEMPOTENCY_KEY, SandboxKit, gateway_error, ok, page
from integrations.sandbox.people import Person, month_add, months_between

WITHDRAWAL_REASONS = ("rent", "purchase", "retirement", "renovation", "medical", "leaving_city")


def fund_account(p: Person) -> dict | None:
    """The account, or ``None`` for a person who never had one."""
    if p.fund_balance_fen == 0 and p.situation not in (
        "worker",
        "worker_with_loan",
        "sealed_housing_fund",
    ):
        return None
    deposit = p.base_fen * 12 // 100
    sealed = p.situation in ("sealed_housing_fund", "retiree")
    return {
        "status": "sealed" if sealed else "normal",
        "employer": p.employer,
        "balance_fen": p.fund_balance_fen,
        "withdrawable_fen": max(0, p.fund_balance_fen - 10_000)
        if not sealed or p.situation == "retiree"
        else 0,
        "monthly_deposit": {
            "employer_fen": 0 if sealed else deposit,
            "personal_fen": 0 if sealed else deposit,
        },
        "opened_on": f"{p.insured_since:%Y-%m-%d}",
    }


def fund_transactions(p: Person) -> list[dict]:
    """Deposits, yearly interest and loan repayments over the last three years, newest first."""
    account = fund_account(p)
    if account is None:
        return []
    deposit = (
        account["monthly_deposit"]["employer_fen"] + account["monthly_deposit"]["personal_fen"]
    )
    rows: list[dict] = []
    balance = p.fund_balance_fen
    month = month_add(p.today, -1)
    for _ in range(36):
        if month.month == 6:
            interest = balance * 150 // 10_000
            rows.append(
                {
                    "date": f"{month:%Y-%m}-30",
                    "kind": "interest",
                    "amount_fen": interest,
                    "balance_after_fen": balance,
                }
            )
            balance -= interest
        if p.loan_started and month >= p.loan_started:
            repay = loan(p)["next_instalment"]["amount_fen"] // 3
            rows.append(
                {
                    "date": f"{month:%Y-%m}-20",
                    "kind": "loan_repayment",
                    "amount_fen": -repay,
                    "balance_after_fen": balance,
                }
            )
            balance += repay
        if deposit:
            rows.append(
                {
                    "date": f"{month:%Y-%m}-10",
                    "kind": "deposit",
                    "amount_fen": deposit,
                    "balance_after_fen": balance,
                }
            )
            balance = max(0, balance - deposit)
        month = month_add(month, -1)
    return rows


def loan(p: Person) -> dict | None:
    """The housing fund loan (an annuity over 20 years), or ``None``."""
    if not p.loan_started:
        return None
    term = 240
    rate_bp = 285  # 2.85% a year, first-home housing fund rate
    monthly_rate = rate_bp / 10_000 / 12
    instalment = round(p.loan_amount_fen * monthly_rate / (1 - (1 + monthly_rate) ** -term))
    paid = months_between(p.loan_started, p.today)
    balance = p.loan_amount_fen
    for _ in range(paid):
        balance -= instalment - round(balance * monthly_rate)
    return {
        "loan_no": f"GJJ{p.id_number[-6:]}{p.loan_started:%Y%m}",
        "amount_fen": p.loan_amount_fen,
        "balance_fen": max(0, balance),
        "term_months": term,
        "rate_bp": rate_bp,
        "started_on": f"{p.loan_started:%Y-%m-%d}",
        "next_instalment": {"due_on": f"{p.today:%Y-%m}-20", "amount_fen": instalment},
    }


def _no_account() -> web.Response:
    return gateway_error(404, "ACCOUNT_NOT_FOUND", "no housing fund account")


class HousingFundSandbox:
    """The upstream's handlers, and the withdrawals filed (by id, and by idempotency key)."""

    def __init__(self) -> None:
        self.withdrawals: dict[str, dict] = {}
        self.withdrawal_keys: dict[str, str] = {}
        self._ids = itertools.count(1)

    async def account(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        account = fund_account(p)
        return _no_account() if account is None else ok(account)

    async def transactions(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        if fund_account(p) is None:
            return _no_account()
        return page(request, fund_transactions(p))

    async def loan(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        found = loan(p)
        if found is None:
            return gateway_error(404, "LOAN_NOT_FOUND", "no housing fund loan")
        return ok(found)

    async def withdraw(self, request: web.Request, p: Person, body: Any) -> web.Response:
        key = request.headers[IDEMPOTENCY_KEY]
        if key in self.withdrawal_keys:  # the same key always answers the same application
            return ok(self._status(self.withdrawals[self.withdrawal_keys[key]]))
        account = fund_account(p)
        reason, amount = body.get("reason"), body.get("amount_fen")
        if account is None:
            return _no_account()
        if reason not in WITHDRAWAL_REASONS:
            return gateway_error(400, "REASON_NOT_SUPPORTED", "unknown withdrawal reason")
        if not isinstance(amount, int) or amount <= 0:
            return gateway_error(400, "INVALID_PARAMETER", "amount_fen is a positive integer")
        if account["status"] == "sealed" and reason != "retirement":
            return gateway_error(409, "ACCOUNT_SEALED", "account is sealed")
        if amount > account["withdrawable_fen"]:
            return gateway_error(
                409, "AMOUNT_EXCEEDS_BALANCE", "amount exceeds the withdrawable balance"
            )
        application_id = f"TQ{datetime.now(UTC):%Y%m%d}{next(self._ids):06d}"
        self.withdrawal_keys[key] = application_id
        self.withdrawals[application_id] = {
            "application_id": application_id,
            "id_number": p.id_number,
            "reason": reason,
            "amount_fen": amount,
            "submitted_at": datetime.now(UTC).isoformat(),
        }
        return ok(self._status(self.withdrawals[application_id]))

    async def withdrawal(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        found = self.withdrawals.get(request.match_info["application_id"])
        if found is None or found["id_number"] != p.id_number:
            return gateway_error(404, "APPLICATION_NOT_FOUND", "no such application")
        return ok(self._status(found))

    @staticmethod
    def _status(application: dict) -> dict:
        """Applications move on with time: reviewing, then approved after a minute, paid after two."""
        age = (
            datetime.now(UTC) - datetime.fromisoformat(application["submitted_at"])
        ).total_seconds()
        status = "reviewing" if age < 60 else "approved" if age < 120 else "paid"
        return {k: v for k, v in application.items() if k != "id_number"} | {"status": status}


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """Account, transactions, loan, and withdrawals filed and looked up (the handler of
    ``UPSTREAM.sandbox``); the filed withdrawals are ``kit.state``."""
    upstream = kit.state = HousingFundSandbox()
    return [
        kit.get("/account", upstream.account),
        kit.get("/transactions", upstream.transactions),
        kit.get("/loan", upstream.loan),
        kit.post("/withdrawals", upstream.withdraw),
        kit.get("/withdrawals/{application_id}", upstream.withdrawal),
    ]
