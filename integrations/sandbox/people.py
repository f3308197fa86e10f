"""Who a person is to the sandbox's upstreams: derived deterministically from the ID number.

Every upstream the sandbox plays derives its records from one :class:`Person` (each
upstream's own records are made by its sandbox handler). Anyone with a valid ID number has records whose variety follows age and a hash of the
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
    """A random generator of its own for each (number, purpose): the same answers every run."""
    digest = hashlib.sha256(f"{purpose}:{id_number}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def month_add(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
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
    insured_since = max(date(2000, 1, 1), month_add(date(born.year + start_age, born.month, 1), 0))
    base_fen = rng.randrange(4_200, 18_000) * 100
    retired_on = (
        month_add(date(born.year + retire_age, born.month, 1), 1)
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
        month_add(today, -rng.randrange(12, 96)) if situation == "worker_with_loan" else None
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
    """Whole months from ``start``'s month to ``end``'s."""
    return (end.year - start.year) * 12 + end.month - start.month


def paying(p: Person) -> bool:
    """Whether the person pays contributions through an employer now."""
    return p.situation in ("worker", "worker_with_loan", "sealed_housing_fund")
