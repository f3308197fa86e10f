"""The province's records as the sandbox plays them: derived deterministically from the ID number.

Anyone with a valid ID number has records whose variety follows age and a hash of the
number; the demo city's named residents are the province's "test persons" with fixed
situations, so the README can point a newcomer at each of them.

Records run up to the month before the sandbox's today, which is the service's today
(``integrations.clock``): a resident asking for "the last twelve months" always finds them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date

INSURANCE_TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")
# Shares of the contribution base, in basis points: (personal, employer).
RATES_BP = {
    "pension": (800, 1600),
    "medical": (200, 800),
    "unemployment": (50, 50),
    "work_injury": (0, 40),
    "maternity": (0, 50),
}
EMPLOYERS = (
    "宿迁市洋河酒厂股份有限公司",
    "宿迁京东信息技术有限公司",
    "江苏沭阳中学",
    "宿迁市第一人民医院",
    "泗洪县城市建设投资有限公司",
    "宿迁市宿城区人民政府",
)

# The named demo residents (see README) and what the province knows of them.
DEMO_PEOPLE: dict[str, str] = {
    "321302198503120137": "worker_with_loan",  # 王建国
    "321311195208210247": "retiree",  # 李秀英
    "32132219901102013X": "unemployed",  # 张伟
    "321323199606300137": "no_housing_fund",  # 刘洋
    "321302198201150138": "worker",  # 王小明
    "321324197909090242": "sealed_housing_fund",  # 陈静
    "321322194604040248": "retiree",  # 赵桂兰
}


@dataclass(frozen=True)
class Person:
    """What the province holds on one person, as of ``today``."""

    today: date
    id_number: str
    born: date
    male: bool
    situation: str  # worker, worker_with_loan, retiree, unemployed, no_housing_fund, sealed_housing_fund, minor
    base_fen: int  # monthly contribution base
    insured_since: date
    employer: str | None
    fund_balance_fen: int
    pension_fen: int  # monthly pension for retirees
    retired_on: date | None
    loan_amount_fen: int
    loan_started: date | None

    @property
    def age(self) -> int:
        today = self.today
        return (
            today.year
            - self.born.year
            - ((today.month, today.day) < (self.born.month, self.born.day))
        )


def rng_for(id_number: str, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"{purpose}:{id_number}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _month_add(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def person(id_number: str, today: date) -> Person:
    """The person's records as of ``today``; raises ``ValueError`` for a number the province
    does not know."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        raise ValueError("unknown person")
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    male = int(id_number[16]) % 2 == 1
    rng = rng_for(id_number, "person")
    age = today.year - born.year
    retire_age = 60 if male else 55
    situation = DEMO_PEOPLE.get(id_number)
    if situation is None:
        if age < 18:
            situation = "minor"
        elif age >= retire_age:
            situation = "retiree"
        else:
            roll = rng.random()
            situation = (
                "unemployed" if roll < 0.08
                else "no_housing_fund" if roll < 0.22
                else "sealed_housing_fund" if roll < 0.27
                else "worker_with_loan" if roll < 0.45 and 25 <= age <= 50
                else "worker"
            )  # fmt: skip
    start_age = 22 if situation != "minor" else max(age, 0)
    insured_since = max(date(2000, 1, 1), _month_add(date(born.year + start_age, born.month, 1), 0))
    base_fen = rng.randrange(4_200, 18_000) * 100
    retired_on = (
        _month_add(date(born.year + retire_age, born.month, 1), 1)
        if situation == "retiree"
        else None
    )
    months_in_fund = max(
        0, (today.year - insured_since.year) * 12 + today.month - insured_since.month
    )
    has_fund = situation in ("worker", "worker_with_loan", "sealed_housing_fund", "retiree")
    deposit = base_fen * 24 // 100  # 12% employer + 12% personal
    fund_balance = (
        rng.randrange(30, 70) * deposit * min(months_in_fund, 120) // 100 if has_fund else 0
    )
    loan_started = (
        _month_add(today, -rng.randrange(12, 96)) if situation == "worker_with_loan" else None
    )
    return Person(
        today=today,
        id_number=id_number,
        born=born,
        male=male,
        situation=situation,
        base_fen=base_fen if situation != "minor" else 0,
        insured_since=insured_since,
        employer=rng.choice(EMPLOYERS)
        if situation in ("worker", "worker_with_loan", "sealed_housing_fund")
        else None,
        fund_balance_fen=fund_balance,
        pension_fen=rng.randrange(1_800, 4_800) * 100 if situation == "retiree" else 0,
        retired_on=retired_on,
        loan_amount_fen=rng.randrange(30, 120) * 10_000 * 100 if loan_started else 0,
        loan_started=loan_started,
    )


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def paying(p: Person) -> bool:
    return p.situation in ("worker", "worker_with_loan", "sealed_housing_fund")


def social_summary(p: Person) -> dict:
    """Insured status per insurance type, base, months paid, personal pension account."""
    last_paid = p.today if paying(p) else (p.retired_on or _month_add(p.today, -7))
    months = (
        0
        if p.situation == "minor"
        else max(0, months_between(p.insured_since, min(last_paid, p.today)))
    )

    def status(kind: str) -> str:
        if p.situation == "minor":
            return "paying" if kind == "medical" else "not_insured"
        if p.situation == "retiree":
            return "receiving" if kind in ("pension", "medical") else "ended"
        if p.situation in ("unemployed", "no_housing_fund") and kind != "medical":
            return (
                "receiving"
                if (kind == "unemployment" and p.situation == "unemployed")
                else "suspended"
            )
        return "paying"

    pension_personal = RATES_BP["pension"][0]
    return {
        "paying_city": "宿迁市",
        "contribution_base_fen": p.base_fen,
        "months_paid": months,
        "personal_account_fen": p.base_fen * pension_personal // 10_000 * months,
        "insured": [
            {"type": k, "status": status(k), "since": f"{p.insured_since:%Y-%m}"}
            for k in INSURANCE_TYPES
        ],
    }


def contributions(p: Person, first: date, last: date) -> list[dict]:
    """Monthly contribution lines (one per insurance type paid) between two months."""
    if p.situation == "minor":
        return []
    end = p.today if paying(p) else (p.retired_on or _month_add(p.today, -7))
    rows = []
    month = max(first, p.insured_since)
    while month <= min(last, _month_add(end, -1)):
        for kind in INSURANCE_TYPES:
            personal_bp, employer_bp = RATES_BP[kind]
            rows.append(
                {
                    "period": f"{month:%Y-%m}",
                    "type": kind,
                    "base_fen": p.base_fen,
                    "personal_fen": p.base_fen * personal_bp // 10_000,
                    "employer_fen": p.base_fen * employer_bp // 10_000,
                    "status": "paid",
                }
            )
        month = _month_add(month, 1)
    return rows


def pension_payments(p: Person) -> list[dict]:
    """Monthly pension paid to a retiree, newest first."""
    if not p.retired_on:
        return []
    rows = []
    month = _month_add(p.today, -1)
    while month >= p.retired_on:
        raise_steps = max(0, month.year - p.retired_on.year)
        amount = p.pension_fen * (1000 + 30 * raise_steps) // 1000  # yearly uprating around 3%
        rows.append(
            {"period": f"{month:%Y-%m}", "amount_fen": amount, "paid_on": f"{month:%Y-%m}-15"}
        )
        month = _month_add(month, -1)
    return rows


def fund_account(p: Person) -> dict | None:
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
    month = _month_add(p.today, -1)
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
        month = _month_add(month, -1)
    return rows


def loan(p: Person) -> dict | None:
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


def population_profile(p: Person) -> dict:
    return {
        "birth_date": f"{p.born:%Y-%m-%d}",
        "gender": "M" if p.male else "F",
        "hukou_district": p.id_number[:6],
        "employment": {
            "minor": "student",
            "retiree": "retired",
            "unemployed": "unemployed",
            "no_housing_fund": "self_employed",
        }.get(p.situation, "employed"),
        "insured_pension": p.situation != "minor",
    }
