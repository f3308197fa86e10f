"""The provincial gateway as the sandbox plays it (contract: openapi/provincial.yaml).

Every request is signature-checked; answers use the gateway's envelope
``{"code": "OK", "message": ..., "data": ...}`` and its error codes.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from integrations import clock
from integrations.sandbox import people
from integrations.sandbox.faults import FaultBoard
from integrations.sandbox.guard import SignatureGuard, gateway_error
from integrations.sandbox.registry import PopulationRegistry

PREFIX = "/gov/v1"
WITHDRAWAL_REASONS = ("rent", "purchase", "retirement", "renovation", "medical", "leaving_city")
MAX_PAGE_SIZE = 100


def ok(data: Any) -> web.Response:
    return web.json_response({"code": "OK", "message": "success", "data": data})


def _page(request: web.Request, rows: list[dict]) -> web.Response:
    try:
        page = int(request.query.get("page", "1"))
        size = int(request.query.get("page_size", "20"))
    except ValueError:
        return gateway_error(400, "INVALID_PARAMETER", "page and page_size are integers")
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        return gateway_error(400, "INVALID_PARAMETER", "page >= 1, 1 <= page_size <= 100")
    start = (page - 1) * size
    return ok(
        {"items": rows[start : start + size], "page": page, "page_size": size, "total": len(rows)}
    )


def _month(value: str | None, default: date) -> date:
    if not value:
        return default
    year, _, month = value.partition("-")
    return date(int(year), int(month), 1)


class ProvincialGateway:
    """Handlers of the four upstreams: social security, housing fund, population, enterprise."""

    def __init__(
        self, guard: SignatureGuard, faults: FaultBoard, today: date | None = None
    ) -> None:
        self.guard = guard
        self.faults = faults
        self._today = today  # pinned by SUPERAPP_TODAY, as the service's is; else the calendar
        self.registry = PopulationRegistry()
        self.certificates: dict[str, dict] = {}
        self.withdrawals: dict[str, dict] = {}
        self.withdrawal_keys: dict[str, str] = {}
        self._ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        def upstream(name: str, handler, *, per_person: bool = True):
            async def wrapped(request: web.Request) -> web.StreamResponse:
                return await self.faults.apply(
                    name, lambda: self._checked(request, handler, per_person)
                )

            return wrapped

        return [
            web.get(f"{PREFIX}/social-security/summary", upstream("social_security", self.summary)),
            web.get(
                f"{PREFIX}/social-security/contributions",
                upstream("social_security", self.contributions),
            ),
            web.get(
                f"{PREFIX}/social-security/pension-payments",
                upstream("social_security", self.pensions),
            ),
            web.post(
                f"{PREFIX}/social-security/certificates",
                upstream("social_security", self.certificate),
            ),
            web.get(f"{PREFIX}/housing-fund/account", upstream("housing_fund", self.account)),
            web.get(
                f"{PREFIX}/housing-fund/transactions", upstream("housing_fund", self.transactions)
            ),
            web.get(f"{PREFIX}/housing-fund/loan", upstream("housing_fund", self.loan)),
            web.post(f"{PREFIX}/housing-fund/withdrawals", upstream("housing_fund", self.withdraw)),
            web.get(
                f"{PREFIX}/housing-fund/withdrawals/{{application_id}}",
                upstream("housing_fund", self.withdrawal),
            ),
            web.get(f"{PREFIX}/population/profile", upstream("population", self.population)),
            web.post(
                f"{PREFIX}/population/verification",
                upstream("population", self.verification, per_person=False),
            ),
            web.get(
                f"{PREFIX}/enterprise/profile",
                upstream("enterprise", self.enterprise, per_person=False),
            ),
        ]

    async def _checked(self, request: web.Request, handler, per_person: bool) -> web.StreamResponse:
        body = await self.guard.check(request)
        if not per_person:
            return await handler(request, body)
        if request.method == "POST":
            id_number = (body or {}).get("id_number")
        else:
            id_number = request.query.get("id_number")
        try:
            person = people.person(str(id_number or ""), clock.today(self._today))
        except ValueError:
            return gateway_error(404, "PERSON_NOT_FOUND", "no record for this person")
        return await handler(request, person, body)

    # social security ------------------------------------------------------------------
    async def summary(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
        return ok(people.social_summary(p))

    async def contributions(
        self, request: web.Request, p: people.Person, _body: Any
    ) -> web.Response:
        try:
            first = _month(request.query.get("from"), date(p.today.year, 1, 1))
            last = _month(request.query.get("to"), p.today)
        except ValueError:
            return gateway_error(400, "INVALID_PARAMETER", "from/to are YYYY-MM")
        if first > last:
            return gateway_error(400, "INVALID_PARAMETER", "from is after to")
        return _page(request, people.contributions(p, first, last))

    async def pensions(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
        return _page(request, people.pension_payments(p))

    async def certificate(self, request: web.Request, p: people.Person, body: Any) -> web.Response:
        key = request.headers.get("X-Idempotency-Key", "")
        if not key:
            return gateway_error(400, "IDEMPOTENCY_KEY_REQUIRED", "X-Idempotency-Key is required")
        if p.situation == "minor":
            return gateway_error(409, "NOT_INSURED", "no contribution record to certify")
        if key not in self.certificates:
            issued = datetime.now(UTC)
            self.certificates[key] = {
                "certificate_no": f"SQSB{issued:%Y%m%d}{next(self._ids):06d}",
                "kind": "contribution_record",
                "verification_code": secrets.token_hex(4).upper(),
                "issued_at": issued.isoformat(),
                "valid_until": (issued + timedelta(days=90)).date().isoformat(),
                "months_paid": people.social_summary(p)["months_paid"],
            }
        return ok(self.certificates[key])

    # housing fund ----------------------------------------------------------------------
    async def account(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
        account = people.fund_account(p)
        if account is None:
            return gateway_error(404, "ACCOUNT_NOT_FOUND", "no housing fund account")
        return ok(account)

    async def transactions(
        self, request: web.Request, p: people.Person, _body: Any
    ) -> web.Response:
        if people.fund_account(p) is None:
            return gateway_error(404, "ACCOUNT_NOT_FOUND", "no housing fund account")
        return _page(request, people.fund_transactions(p))

    async def loan(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
        loan = people.loan(p)
        if loan is None:
            return gateway_error(404, "LOAN_NOT_FOUND", "no housing fund loan")
        return ok(loan)

    async def withdraw(self, request: web.Request, p: people.Person, body: Any) -> web.Response:
        key = request.headers.get("X-Idempotency-Key", "")
        if not key:
            return gateway_error(400, "IDEMPOTENCY_KEY_REQUIRED", "X-Idempotency-Key is required")
        if key in self.withdrawal_keys:  # the same key always answers the same application
            return ok(self._status(self.withdrawals[self.withdrawal_keys[key]]))
        account = people.fund_account(p)
        reason, amount = body.get("reason"), body.get("amount_fen")
        if account is None:
            return gateway_error(404, "ACCOUNT_NOT_FOUND", "no housing fund account")
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

    async def withdrawal(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
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

    # profiles (released only with a consent reference) -----------------------------------
    async def population(self, request: web.Request, p: people.Person, _body: Any) -> web.Response:
        if not request.query.get("consent_ref"):
            return gateway_error(403, "CONSENT_REQUIRED", "a consent reference is required")
        return ok(people.population_profile(p))

    async def verification(self, request: web.Request, body: Any) -> web.Response:
        """The three-element check: is this the name of this ID number, and is this phone
        registered to it? Only the verdict comes back."""
        body = body if isinstance(body, dict) else {}
        name, id_number, phone = body.get("name"), body.get("id_number"), body.get("phone")
        if not isinstance(name, str) or not isinstance(id_number, str) or not name:
            return gateway_error(400, "INVALID_PARAMETER", "name and id_number are required")
        if phone is not None and not isinstance(phone, str):
            return gateway_error(400, "INVALID_PARAMETER", "phone is a string")
        return ok({"result": self.registry.check(name, id_number, phone)})

    async def enterprise(self, request: web.Request, _body: Any) -> web.Response:
        if not request.query.get("consent_ref"):
            return gateway_error(403, "CONSENT_REQUIRED", "a consent reference is required")
        code = request.query.get("credit_code", "")
        if len(code) != 18:
            return gateway_error(404, "ENTERPRISE_NOT_FOUND", "no such enterprise")
        rng = people.rng_for(code, "enterprise")
        return ok(
            {
                "credit_code": code,
                "status": "active",
                "registered_capital_fen": rng.randrange(10, 5000) * 10_000 * 100,
                "insured_employees": rng.randrange(1, 800),
                "tax_credit_rating": rng.choice("ABCM"),
            }
        )
