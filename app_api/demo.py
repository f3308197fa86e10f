"""The demo city: a prefecture-level city in the shape of Suqian, deterministic per seed.

A handful of named residents cover the situations a newcomer wants to try (README lists
them); the rest are drawn at random with realistic spread of age, district, household
registration, employment and disability.
"""

from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from tortoise.transactions import in_transaction

from app_api.delegation.scopes import grantable
from app_api.identity.crypto import PiiVault
from app_api.identity.models import (
    DISTRICTS,
    Delegation,
    Enterprise,
    EnterpriseAdmin,
    Operator,
    Resident,
)
from app_api.identity.numbers import CREDIT_ALPHABET, credit_check_char, id_check_char
from app_api.miniprogram import installed
from integrations.sandbox.registry import registered_name
from miniprograms.contract import DemoResident, DemoSeed

ID_CONTEXT = "resident.id_number"
INDUSTRIES = {
    "C13": "食品",
    "C17": "纺织",
    "C39": "电子",
    "C34": "机械",
    "I65": "软件",
    "F51": "商贸",
    "E47": "建筑",
    "A01": "农业",
}
WORDS = [
    "洋河",
    "双沟",
    "运河",
    "骆马湖",
    "湖滨",
    "楚韵",
    "西楚",
    "项王",
    "泗水",
    "沭河",
    "金鹰",
    "苏宿",
    "宿城",
    "新盛",
    "恒通",
    "瑞丰",
]
BATCH = 2000


@dataclass(frozen=True)
class NamedResident:
    id_number: str | None  # fixed for the named residents, drawn for the rest
    phone: str
    name: str
    birth: date
    district: str
    hukou: str
    employment: str
    disability: int = 0
    household: int = 3


# The residents the README introduces. Their ID numbers are the province's test persons
# (integrations/sandbox/people.py), whose records have fixed situations.
NAMED = (
    NamedResident(
        "321302198503120137",
        "13800000001",
        "王建国",
        date(1985, 3, 12),
        "321302",
        "local_urban",
        "employed",
        household=4,
    ),
    NamedResident(
        "321311195208210247",
        "13800000002",
        "李秀英",
        date(1952, 8, 21),
        "321311",
        "local_urban",
        "retired",
        household=1,
    ),
    NamedResident(
        "32132219901102013X",
        "13800000003",
        "张伟",
        date(1990, 11, 2),
        "321322",
        "local_rural",
        "unemployed",
        household=3,
    ),
    NamedResident(
        "321323199606300137",
        "13800000004",
        "刘洋",
        date(1996, 6, 30),
        "321323",
        "nonlocal",
        "self_employed",
        household=1,
    ),
    NamedResident(
        "321302198201150138",
        "13800000005",
        "王小明",
        date(1982, 1, 15),
        "321302",
        "local_urban",
        "employed",
        household=3,
    ),
    NamedResident(
        "321324197909090242",
        "13800000006",
        "陈静",
        date(1979, 9, 9),
        "321324",
        "local_urban",
        "employed",
        household=3,
    ),
    NamedResident(
        "321322194604040248",
        "13800000007",
        "赵桂兰",
        date(1946, 4, 4),
        "321322",
        "local_rural",
        "retired",
        disability=2,
        household=2,
    ),
)
OPERATORS = (
    ("13900000001", "周政", ["policy_editor", "policy_publisher"]),
    ("13900000002", "孙审", ["reviewer", "auditor"]),
)


class Progress:
    """A progress bar on stderr for long seeding runs (silent when stderr is not a terminal)."""

    def __init__(self, label: str, total: int, *, stream=sys.stderr) -> None:
        self.label, self.total, self.done, self._stream = label, total, 0, stream
        self._tty = hasattr(stream, "isatty") and stream.isatty()

    def advance(self, n: int) -> None:
        self.done += n
        if self._tty:
            filled = int(30 * self.done / max(self.total, 1))
            bar = "█" * filled + "░" * (30 - filled)
            self._stream.write(f"\r{self.label:<12} {bar} {self.done:>7}/{self.total}")
            self._stream.flush()

    def finish(self) -> None:
        self._stream.write("\n" if self._tty else f"{self.label}: {self.done} created\n")
        self._stream.flush()


def demo_phone(i: int, seed: int) -> str:
    """The phone of the i-th drawn resident: 7919 is prime to 10⁹, so phones never repeat."""
    return f"15{(i * 7919 + seed) % 10**9:09d}"


def make_id_number(rng: random.Random, district: str, birth: date, male: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{district}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def make_credit_code(rng: random.Random, district: str) -> str:
    org = "".join(rng.choice(CREDIT_ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    first17 = f"91{district}{org}"
    return first17 + credit_check_char(first17)


def _random_resident(rng: random.Random, today: date) -> NamedResident:
    age = min(int(rng.triangular(0, 95, 38)), 95)
    birth = today - timedelta(days=age * 365 + rng.randrange(365))
    if age >= 60:
        employment = rng.choices(["retired", "employed", "other"], [85, 5, 10])[0]
    elif age < 18:
        employment = "student"
    elif age < 23:
        employment = rng.choices(["student", "employed", "unemployed"], [60, 30, 10])[0]
    else:
        employment = rng.choices(
            ["employed", "self_employed", "unemployed", "other"], [70, 15, 8, 7]
        )[0]
    return NamedResident(
        id_number=None,
        phone="",
        name="",  # the registry's name for the number drawn later (_resident_row)
        birth=birth,
        district=rng.choice(DISTRICTS),
        hukou=rng.choices(["local_urban", "local_rural", "nonlocal"], [45, 40, 15])[0],
        employment=employment,
        disability=rng.choices([0, 1, 2, 3, 4], [93, 2, 2, 2, 1])[0],
        household=rng.choices([1, 2, 3, 4, 5, 6], [12, 25, 30, 20, 9, 4])[0],
    )


def _resident_row(
    vault: PiiVault, rng: random.Random, person: NamedResident, used: set[str]
) -> Resident:
    male = rng.random() < 0.5
    number = person.id_number
    if number:  # a named resident: the province's test person
        male = int(number[16]) % 2 == 1
    while number is None or number in used:
        number = make_id_number(rng, person.district, person.birth, male)
    used.add(number)
    return Resident(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        phone=person.phone,
        # The name the province's registry holds for the number, as a verified binding has.
        name=person.name if person.id_number else registered_name(number),
        id_number_sealed=vault.seal(number, context=ID_CONTEXT),
        id_number_index=vault.index(number, context=ID_CONTEXT),
        birth_date=person.birth,
        gender="M" if male else "F",
        district=person.district,
        hukou_type=person.hukou,
        employment_status=person.employment,
        disability_level=person.disability,
        household_size=person.household,
    )


async def seed(
    vault: PiiVault,
    *,
    seed: int = 2026,
    residents: int = 2000,
    enterprises: int = 200,
    today: date | None = None,
    progress: Callable[[str, int], Progress] = Progress,
) -> dict[str, int]:
    """Create the demo city in one transaction. Returns how many rows of each kind were created."""
    async with in_transaction():
        return await _seed(
            vault,
            seed=seed,
            residents=residents,
            enterprises=enterprises,
            today=today,
            progress=progress,
        )


async def _seed(
    vault: PiiVault,
    *,
    seed: int,
    residents: int,
    enterprises: int,
    today: date | None,
    progress: Callable[[str, int], Progress],
) -> dict[str, int]:
    rng = random.Random(seed)
    today = today or date(2026, 11, 1)
    used: set[str] = set()
    total = max(residents, len(NAMED))
    bar = progress("residents", total)
    named_rows = [_resident_row(vault, rng, p, used) for p in NAMED]
    await Resident.bulk_create(named_rows)
    bar.advance(len(named_rows))
    remaining = total - len(NAMED)
    for start in range(0, remaining, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, remaining)):
            person = _random_resident(rng, today)
            phone = demo_phone(i, seed)
            rows.append(_resident_row(vault, rng, replace(person, phone=phone), used))
        await Resident.bulk_create(rows)
        bar.advance(len(rows))
    bar.finish()

    companies = []
    codes: set[str] = set()
    for _ in range(enterprises):
        district = rng.choice(DISTRICTS)
        code = make_credit_code(rng, district)
        if code in codes:
            continue
        codes.add(code)
        industry = rng.choice(list(INDUSTRIES))
        employees = int(rng.lognormvariate(3, 1.2)) + 1
        size = (
            "micro"
            if employees < 10
            else "small"
            if employees < 100
            else "medium"
            if employees < 300
            else "large"
        )
        companies.append(
            Enterprise(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                credit_code=code,
                name=f"宿迁{rng.choice(WORDS)}{INDUSTRIES[industry]}{rng.choice(['有限公司', '股份有限公司', '科技有限公司'])}",
                industry_code=industry[1:] + "0",
                size=size,
                district=district,
                founded_on=today - timedelta(days=rng.randrange(90, 365 * 25)),
                high_tech=rng.random() < 0.12,
                employee_count=employees,
            )
        )
    await Enterprise.bulk_create(companies, batch_size=BATCH)

    by_phone = {r.phone: r for r in named_rows}
    if companies:
        await EnterpriseAdmin.create(
            enterprise_id=companies[0].id, resident_id=by_phone["13800000006"].id
        )
    # 李秀英 lets her son 王小明 look after her affairs (亲情代办).
    await Delegation.create(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        grantor_id=by_phone["13800000002"].id,
        grantee_id=by_phone["13800000005"].id,
        scopes=sorted(grantable()),  # everything she can grant, whatever is installed
        relationship="child",
        expires_at=datetime.now(UTC) + timedelta(days=365),
    )
    for phone, name, roles in OPERATORS:
        await Operator.create(phone=phone, name=name, roles=roles)
    counts = {"residents": total, "enterprises": len(companies), "operators": len(OPERATORS)}
    named = [
        DemoResident(id=str(row.id), name=row.name or "", phone=row.phone, id_number=p.id_number)
        for p, row in zip(NAMED, named_rows, strict=True)
    ]
    for program in installed():
        if program.demo is not None:  # each program's part of the city, seeded its own way
            rng_of_program = random.Random(f"{seed}:{program.slug}")
            added = await program.demo(DemoSeed(rng=rng_of_program, today=today, residents=named))
            counts.update({f"{program.slug}.{kind}": n for kind, n in added.items()})
    return counts
