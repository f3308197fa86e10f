"""The demo city is deterministic and valid; background jobs run on the queue."""

from __future__ import annotations

import io

from app_api.audit.chain import AuditEntry
from app_api.demo import NAMED, Progress, seed
from app_api.identity.crypto import PiiVault
from app_api.identity.models import Delegation, Enterprise, Operator, Resident
from app_api.identity.numbers import validate_credit_code, validate_id_number
from app_api.jobs import JobRunner
from integrations.sandbox.people import DEMO_PEOPLE
from tests.conftest import Env


class _Quiet(Progress):
    def __init__(self, label: str, total: int) -> None:
        super().__init__(label, total, stream=io.StringIO())


async def _snapshot(vault: PiiVault) -> list[tuple]:
    rows = await Resident.all().order_by("phone")
    return [
        (
            r.phone,
            r.name,
            vault.open(r.id_number_sealed, context="resident.id_number"),
            r.district,
            r.employment_status,
        )
        for r in rows
    ]


async def test_demo_city_is_valid_and_complete(env: Env) -> None:
    vault = env.app.state.services.vault
    counts = await seed(vault, seed=7, residents=500, enterprises=40, progress=_Quiet)
    assert counts["residents"] == 500 == await Resident.all().count()
    assert await Enterprise.all().count() == counts["enterprises"] >= 38
    assert await Operator.all().count() == 2
    people = await _snapshot(vault)
    for _, _, number, district, _ in people:
        assert validate_id_number(number) == number
        assert number.startswith(district)
    for company in await Enterprise.all():
        assert validate_credit_code(company.credit_code) == company.credit_code
    statuses = {p[4] for p in people}
    assert {"employed", "retired", "unemployed", "student"} <= statuses
    assert {p.phone for p in NAMED} <= {p[0] for p in people}
    # The named residents are the province's test persons, with the situations the README lists.
    numbers = {p[0]: p[2] for p in people}
    situations = {
        phone: DEMO_PEOPLE[numbers[phone]]
        for phone in ("13800000001", "13800000002", "13800000004")
    }
    assert situations == {
        "13800000001": "worker_with_loan",
        "13800000002": "retiree",
        "13800000004": "no_housing_fund",
    }
    assert await Delegation.all().count() == 1


async def test_same_seed_same_city(env: Env, database_url: str) -> None:
    vault = env.app.state.services.vault
    await seed(vault, seed=11, residents=120, enterprises=5, progress=_Quiet)
    first = await _snapshot(vault)
    for model in (Delegation, Operator, Resident, Enterprise):
        await model.all().delete()
    await seed(vault, seed=11, residents=120, enterprises=5, progress=_Quiet)
    assert await _snapshot(vault) == first


def test_progress_bar_draws_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = Progress("residents", 100, stream=out)
    bar.advance(50)
    bar.advance(50)
    bar.finish()
    assert "100/100" in out.getvalue() and "█" * 30 in out.getvalue()


async def test_worker_runs_the_audit_chain_check(env: Env) -> None:
    services = env.app.state.services
    await services.audit.append(AuditEntry("resident", "a", "x.read", "r:1", "test"))
    runner = JobRunner(env.settings, services)
    await runner.start_worker()
    try:
        result = await runner.queue.apply("verify_audit_chain", timeout=10)
    finally:
        await runner.close()
    assert result == {"ok": True, "checked": 1, "bad_seq": None}
