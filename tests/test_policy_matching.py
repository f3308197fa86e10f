"""政策找人 end to end: facts fetched with consent, a policy published and matched to the
population once, reasons in the reader's language, a grant paid once however often it is
confirmed, a changed person re-evaluated, enterprises told through their admins."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from app_api.audit.chain import AuditEvent
from app_api.identity.models import Enterprise, EnterpriseAdmin, Operator
from app_api.identity.numbers import credit_check_char, id_check_char
from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from miniprograms.policy_push import matching
from miniprograms.policy_push.models import Grant, Policy, PolicyMatch, ResidentProfile
from notifications.models import Notification
from tests.conftest import TODAY, Env

POLICIES = "/api/v1/policies"
ADMIN = "/api/v1/admin/policies"
LOCAL = ["local_urban", "local_rural"]
ALLOWANCE = {"all": [{"field": "age", "op": ">=", "value": 80},
                     {"field": "hukou_type", "op": "in", "value": LOCAL}]}  # fmt: skip


def id_number(district: str, born: date, seq: int = 123) -> str:
    first17 = f"{district}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def credit_code(first17: str) -> str:
    return first17 + credit_check_char(first17)


ELDER = id_number("321302", date(1940, 5, 1))  # 86, registered here
YOUNG = id_number("321302", date(1990, 3, 3))  # 36
AWAY = id_number("110101", date(1938, 1, 9))  # 88, registered in Beijing


async def operators(env: Env) -> tuple[dict[str, Any], dict[str, Any]]:
    signed = []
    for phone, role in (("13900000201", "policy_editor"), ("13900000202", "policy_publisher")):
        await Operator.create(phone=phone, name=role, roles=[role])
        tokens = await env.login(phone, portal="operator")
        await env.enrol_totp(tokens)
        signed.append(tokens)
    return signed[0], signed[1]


def allowance(**changes: Any) -> dict[str, Any]:
    return {
        "audience": "resident",
        "category": "elderly_care",
        "title": "宿迁市高龄津贴发放实施办法",
        "department": "宿迁市民政局",
        "document_no": "宿政办发〔2023〕31号",
        "summary": "本市户籍80周岁及以上老年人按月领取高龄津贴。",
        "full_text": "第三条 本市户籍年满80周岁的老年人……",
        "effective_from": "2023-07-01",
        "benefit": "每月发放高龄津贴",
        "amounts": [{"from": "2023-07-01", "amount_fen": 10000, "reference": "第五条"}],
        "how_to_apply": "无需申请，符合条件自动发放。",
        "rule": ALLOWANCE,
        "rule_reference": "第三条",
        "auto_grant": True,
        **changes,
    }


async def publish(
    env: Env, body: dict[str, Any], signed: tuple[dict[str, Any], dict[str, Any]] | None = None
) -> str:
    editor, publisher = signed or await operators(env)
    drafted = await env.client.post(ADMIN, json=body, headers=env.auth(editor))
    assert drafted.status_code == 201, drafted.text
    policy_id = drafted.json()["id"]
    done = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(publisher)
    )
    assert done.status_code == 200, done.text
    return policy_id


async def resident(env: Env, phone: str, number: str) -> dict[str, Any]:
    """A verified resident whose facts were fetched from the registry (with consent)."""
    tokens = await env.verified(phone, number)
    refreshed = await env.client.post(f"{POLICIES}/profile/refresh", headers=env.auth(tokens))
    assert refreshed.status_code == 200, refreshed.text
    return tokens


def runtime(env: Env) -> Any:
    return env.app.state.services.runtimes["policy_push"]


async def told(account: str) -> list[Notification]:
    return await Notification.filter(recipient_id=account, category="policy")


async def test_published_policy_finds_those_who_qualify_once_with_reasons(env: Env) -> None:
    elder = await resident(env, "13800000301", ELDER)
    young = await resident(env, "13800000302", YOUNG)
    away = await resident(env, "13800000303", AWAY)
    facts = (await env.client.get(f"{POLICIES}/profile", headers=env.auth(elder))).json()
    age = next(f for f in facts["facts"] if f["field"] == "age")
    assert (age["value"], age["source"], age["fresh"]) == ("1940-05-01", "population", True)
    # The registry was asked under a consent of hers, for this purpose, on her record.
    read = await AuditEvent.filter(action="provincial.population.read").order_by("seq").first()
    assert read is not None and read.purpose.startswith("policy_matching:")
    assert read.subject_id == elder["account"]["id"]

    queue = env.app.state.jobs.queue
    before = await queue.count("queued")
    policy_id = await publish(env, allowance())
    assert await queue.count("queued") == before + 1  # publishing queued the matching job
    first = await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    assert first["matched"] == 1  # the elder; the young man is too young, Beijing's too far
    again = await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    assert again == {"matched": 1, "told": 0}  # run twice: nobody told twice
    assert len(await told(elder["account"]["id"])) == 1
    assert await told(young["account"]["id"]) == [] and await told(away["account"]["id"]) == []

    found = await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))
    (match,) = found.json()["items"]
    assert match["policy"]["id"] == policy_id and match["grant_id"]
    assert match["reasons"][0] == "年龄≥80岁：已满足"
    english = await env.client.get(
        f"{POLICIES}/{policy_id}/eligibility",
        headers={**env.auth(away), "Accept-Language": "en"},
    )
    assert english.json()["answer"] == "not_eligible"
    assert [c["outcome"] for c in english.json()["clauses"]] == ["met", "not_met"]
    assert "not met" in english.json()["clauses"][1]["text"]
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(young))).json()[
        "total"
    ] == 0


async def test_unknown_facts_are_asked_for_not_taken_as_no(env: Env) -> None:
    policy_id = await publish(env, allowance())
    newcomer = await env.verified("13800000304", ELDER)  # never fetched her facts
    answer = await env.client.get(f"{POLICIES}/{policy_id}/eligibility", headers=env.auth(newcomer))
    body = answer.json()
    assert body["answer"] == "need_more_information"
    assert [m["field"] for m in body["missing"]] == ["age", "hukou_type"]
    # Facts a year and a half old are stale: unknown again, and said so.
    await env.client.post(f"{POLICIES}/profile/refresh", headers=env.auth(newcomer))
    await ResidentProfile.filter(account_id=newcomer["account"]["id"]).update(
        population_as_of=TODAY - timedelta(days=550)
    )
    stale = (
        await env.client.get(f"{POLICIES}/{policy_id}/eligibility", headers=env.auth(newcomer))
    ).json()
    assert stale["answer"] == "need_more_information"
    assert stale["missing"] == [{"field": "hukou_type", "label": "户籍类型", "gap": "stale"}]


async def test_a_job_that_dies_half_way_resumes_without_telling_anyone_twice(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [
        id_number("321302", date(1930 + i, 1, 2), seq=100 + i) for i in range(7)
    ]  # all 80 or more, all local
    accounts = [
        (await resident(env, f"138000004{i:02d}", number))["account"]["id"]
        for i, number in enumerate(people)
    ]
    policy_id = await publish(env, allowance())
    monkeypatch.setattr(matching, "BATCH", 3)
    real = runtime(env)
    calls = 0

    async def dies_on_the_second_batch(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("worker lost its database connection")
        return await real.notify_many(*args, **kwargs)

    dying = dataclasses.replace(real, notify_many=dies_on_the_second_batch)
    with pytest.raises(ConnectionError):
        await matching.match_policy(dying, policy_id=policy_id, version=1)
    # The first batch is recorded and told; the second rolled back with its messages.
    assert await PolicyMatch.filter(policy_id=policy_id).count() == 3
    resumed = await matching.match_policy(real, policy_id=policy_id, version=1)
    assert resumed["matched"] == 7 and resumed["told"] == 4
    for account in accounts:
        assert len(await told(account)) == 1
        assert await Grant.filter(account_id=account).count() == 1


async def test_twenty_confirmations_at_once_pay_once(env: Env) -> None:
    elder = await resident(env, "13800000305", ELDER)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert (grant["state"], grant["amount_fen"]) == ("pending_confirmation", 10000)
    answers = await asyncio.gather(
        *(
            env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
            for _ in range(20)
        )
    )
    assert {a.status_code for a in answers} == {200}
    payments = env.sandbox.upstream("benefit_payment").payments
    assert len(payments) == 1
    shown = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert shown["state"] == "paid" and shown["payment_id"]
    # Another resident cannot confirm it, nor see it.
    young = await resident(env, "13800000306", YOUNG)
    other = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(young))
    assert other.status_code == 404


async def test_a_confirmation_that_meets_a_silent_province_is_paid_on_the_next_tap(
    env: Env,
) -> None:
    elder = await resident(env, "13800000307", ELDER)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    env.sandbox.app[FAULTS].set("benefit_payment", Fault(kind="error"))
    down = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
    assert down.status_code == 503 and "Retry-After" in down.headers
    kept = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert kept["state"] == "confirmed"  # her confirmation is not lost
    env.sandbox.app[FAULTS].set("benefit_payment", Fault())
    paid = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
    assert paid.json()["state"] == "paid"
    assert len(env.sandbox.upstream("benefit_payment").payments) == 1


async def test_a_changed_situation_is_evaluated_again(env: Env) -> None:
    care = {
        **allowance(),
        "category": "disability",
        "title": "宿迁市重度残疾人护理补贴实施办法",
        "document_no": "宿残联发〔2024〕8号",
        "rule": {"field": "disability_level", "op": "between", "value": [1, 2]},
        "auto_grant": False,
    }
    policy_id = await publish(env, care)
    person = await resident(env, "13800000308", YOUNG)
    declared = await env.client.put(
        f"{POLICIES}/profile/declared", json={"disability_level": 2}, headers=env.auth(person)
    )
    assert declared.status_code == 200, declared.text
    matches = (await env.client.get(f"{POLICIES}/matches", headers=env.auth(person))).json()
    assert [m["policy"]["id"] for m in matches["items"]] == [policy_id]
    assert len(await told(person["account"]["id"])) == 1
    # Recovered: the match is withdrawn, and a second declaration tells nobody again.
    await env.client.put(
        f"{POLICIES}/profile/declared", json={"disability_level": 0}, headers=env.auth(person)
    )
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(person))).json()[
        "total"
    ] == 0
    # An enterprise's field is not a resident's to declare.
    wrong = await env.client.put(
        f"{POLICIES}/profile/declared", json={"high_tech_certified": True},
        headers=env.auth(person),
    )  # fmt: skip
    assert (wrong.status_code, wrong.json()["code"]) == (422, "policy_declaration_empty")


async def test_muted_categories_and_dismissed_matches_stay_quiet(env: Env) -> None:
    elder = await resident(env, "13800000309", ELDER)
    muted = await env.client.put(
        f"{POLICIES}/interests", json={"muted": ["elderly_care"]}, headers=env.auth(elder)
    )
    assert muted.json() == {"muted": ["elderly_care"]}
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    assert await told(elder["account"]["id"]) == []
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "total"
    ] == 0
    await env.client.put(f"{POLICIES}/interests", json={"muted": []}, headers=env.auth(elder))
    (match,) = (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "items"
    ]
    gone = await env.client.post(
        f"{POLICIES}/matches/{match['id']}/dismiss", headers=env.auth(elder)
    )
    assert gone.status_code == 204
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "total"
    ] == 0
    young = await resident(env, "13800000310", YOUNG)
    theirs = await env.client.post(
        f"{POLICIES}/matches/{match['id']}/dismiss", headers=env.auth(young)
    )
    assert theirs.status_code == 404


async def test_turning_eighty_today_is_noticed_by_the_daily_job(env: Env) -> None:
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    birthday = id_number("321302", TODAY.replace(year=TODAY.year - 80), seq=555)
    person = await resident(env, "13800000311", birthday)
    # Refreshing found her already (she is 80 today); the daily job re-checks and tells
    # nobody twice.
    assert len(await told(person["account"]["id"])) == 1
    await PolicyMatch.filter(account_id=person["account"]["id"]).delete()
    report = await matching.daily(runtime(env))
    assert report["residents"] == 1
    assert await PolicyMatch.filter(account_id=person["account"]["id"]).count() == 1
    assert len(await told(person["account"]["id"])) == 1


async def test_operators_preview_the_reach_by_district_before_publishing(env: Env) -> None:
    await resident(env, "13800000312", ELDER)
    await resident(env, "13800000313", id_number("321311", date(1941, 2, 3)))
    await resident(env, "13800000314", YOUNG)
    # Eleven more in 宿城, as the registry would have released them (a city has thousands).
    for i in range(11):
        await ResidentProfile.create(
            account_id=uuid.uuid4(), birth_date=date(1935, 1, 1 + i), district="321302",
            hukou_type="local_rural", population_as_of=TODAY,
        )  # fmt: skip
    editor, publisher = await operators(env)
    drafted = await env.client.post(ADMIN, json=allowance(), headers=env.auth(editor))
    preview = await env.client.post(
        f"{ADMIN}/{drafted.json()['id']}/preview", headers=env.auth(publisher)
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    # 宿城 is counted; 宿豫's one person is not singled out, so the total is only a floor.
    assert body["by_district"] == [
        {"district": "321302", "count": 12},
        {"district": "321311", "count": None},
    ]
    assert (body["total"], body["at_least"], body["smallest_count"]) == (None, 12, 10)
    looked = await AuditEvent.filter(action="policy_push.preview").first()
    assert looked is not None and looked.actor_id == publisher["account"]["id"]


async def test_a_relative_sees_and_confirms_only_with_the_scopes(env: Env) -> None:
    elder = await resident(env, "13800000315", ELDER)
    child = await env.verified("13800000316", YOUNG)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    as_elder = env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    denied = await env.client.get(f"{POLICIES}/matches", headers=as_elder)
    assert denied.json()["code"] == "delegation_denied"
    await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000316", "scopes": ["view_policy_matches"]},
        headers=env.auth(elder),
    )
    (match,) = (await env.client.get(f"{POLICIES}/matches", headers=as_elder)).json()["items"]
    refused = await env.client.post(f"/api/v1/grants/{match['grant_id']}/confirm", headers=as_elder)
    assert refused.json()["code"] == "delegation_denied"
    await env.client.post(
        "/api/v1/delegations",
        json={
            "relative_phone": "13800000316",
            "scopes": ["view_policy_matches", "confirm_policy_grants"],
        },
        headers=env.auth(elder),
    )
    paid = await env.client.post(f"/api/v1/grants/{match['grant_id']}/confirm", headers=as_elder)
    assert paid.json()["state"] == "paid", paid.text
    grant = await Grant.get(id=match["grant_id"])
    assert str(grant.confirmed_by) == child["account"]["id"]  # who tapped is on record


async def test_enterprise_policies_reach_the_admins_of_companies_that_qualify(env: Env) -> None:
    admin = await env.verified("13800000317", YOUNG)
    await env.enrol_totp(admin)
    company = await Enterprise.create(
        id=uuid.uuid4(), credit_code=credit_code("91321302MA1XYW123"), name="宿迁云帆科技有限公司",
        industry_code="C391", size="small", district="321302", founded_on=date(2015, 3, 1),
    )  # fmt: skip
    await EnterpriseAdmin.create(enterprise=company, resident_id=admin["account"]["id"])
    code = company.credit_code
    base = f"/api/v1/enterprises/{code}/policies"
    refreshed = await env.client.post(f"{base}/profile/refresh", headers=env.auth(admin))
    assert refreshed.status_code == 200, refreshed.text
    shown = await env.client.get(f"{base}/profile", headers=env.auth(admin))
    facts = {f["field"]: f for f in shown.json()["facts"]}
    assert (
        facts["employee_count"]["source"] == "social_security" and facts["employee_count"]["fresh"]
    )
    months = facts["unemployment_insurance_months"]["value"]
    award = {
        **allowance(),
        "audience": "enterprise",
        "category": "enterprise_support",
        "title": "关于做好2026年失业保险稳岗返还工作的通知",
        "document_no": "苏人社发〔2026〕12号",
        "rule": {"field": "unemployment_insurance_months", "op": "<=", "value": months},
        "auto_grant": False,
        "amounts": [],
    }
    hook = await env.client.post(
        f"/api/v1/enterprises/{code}/webhooks", json={"url": "http://127.0.0.1:9/hooks"},
        headers=env.auth(admin),
    )  # fmt: skip
    assert hook.status_code == 201, hook.text
    policy_id = await publish(env, award)
    for _ in range(2):  # run twice: told once
        await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    assert len(await told(admin["account"]["id"])) == 1  # the admin, in his own inbox
    assert len(await told(str(company.id))) == 1  # and the company's own systems
    found = await env.client.get(f"{base}/matches", headers=env.auth(admin))
    assert [m["policy"]["id"] for m in found.json()["items"]] == [policy_id]
    answer = await env.client.get(f"{base}/{policy_id}/eligibility", headers=env.auth(admin))
    assert answer.json()["answer"] == "eligible"
    # A resident's route refuses an enterprise policy, and saying why.
    mine = await env.client.get(f"{POLICIES}/{policy_id}/eligibility", headers=env.auth(admin))
    assert (mine.status_code, mine.json()["code"]) == (422, "policy_for_enterprises")
    stranger = await env.verified("13800000318", ELDER)
    await env.enrol_totp(stranger)
    other = await env.client.get(f"{base}/matches", headers=env.auth(stranger))
    assert other.status_code == 403


async def test_a_new_version_that_leaves_someone_out_withdraws_their_waiting_grant(
    env: Env,
) -> None:
    elder = await resident(env, "13800000319", ELDER)  # 86
    eldest = await resident(env, "13800000320", id_number("321302", date(1930, 6, 6)))  # 96
    editor, publisher = await operators(env)
    policy_id = await publish(env, allowance(), (editor, publisher))
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    ninety = {"all": [{"field": "age", "op": ">=", "value": 90}, ALLOWANCE["all"][1]]}
    await env.client.put(
        f"{ADMIN}/{policy_id}", json=allowance(rule=ninety), headers=env.auth(editor)
    )
    await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 2}, headers=env.auth(publisher)
    )
    await matching.match_policy(runtime(env), policy_id=policy_id, version=2)
    mine = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert mine["state"] == "withdrawn"
    refused = await env.client.post(f"/api/v1/grants/{mine['id']}/confirm", headers=env.auth(elder))
    assert (refused.status_code, refused.json()["code"]) == (409, "grant_withdrawn")
    assert not env.sandbox.upstream("benefit_payment").payments
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "total"
    ] == 0
    theirs = (await env.client.get("/api/v1/grants", headers=env.auth(eldest))).json()["items"]
    assert theirs[0]["state"] == "pending_confirmation"  # still found by version 2
    assert len(await told(eldest["account"]["id"])) == 1  # and not told again
    await env.client.post(f"{ADMIN}/{policy_id}/retire", headers=env.auth(publisher))
    gone = (await env.client.get("/api/v1/grants", headers=env.auth(eldest))).json()["items"]
    assert gone[0]["state"] == "withdrawn"


async def test_an_offer_the_policy_no_longer_makes_cannot_be_confirmed(env: Env) -> None:
    """Found by an attack: a new version not yet walked (here: not yet in force) left the
    old offer payable."""
    elder = await resident(env, "13800000321", ELDER)
    editor, publisher = await operators(env)
    policy_id = await publish(env, allowance(), (editor, publisher))
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    later = allowance(
        effective_from="2027-06-01",
        amounts=[{"from": "2027-06-01", "amount_fen": 12000, "reference": "第五条"}],
        rule={"field": "age", "op": ">=", "value": 100},
    )
    await env.client.put(f"{ADMIN}/{policy_id}", json=later, headers=env.auth(editor))
    await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 2}, headers=env.auth(publisher)
    )
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    tapped = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
    assert (tapped.status_code, tapped.json()["code"]) == (409, "grant_withdrawn")
    assert not env.sandbox.upstream("benefit_payment").payments


async def test_a_relative_who_may_look_cannot_mute_or_dismiss(env: Env) -> None:
    """Found by an attack: the read-only scope could silence an elder's pushes."""
    elder = await resident(env, "13800000322", ELDER)
    child = await env.verified("13800000323", YOUNG)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000323", "scopes": ["view_policy_matches"]},
        headers=env.auth(elder),
    )
    as_elder = env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    (match,) = (await env.client.get(f"{POLICIES}/matches", headers=as_elder)).json()["items"]
    muted = await env.client.put(
        f"{POLICIES}/interests", json={"muted": ["elderly_care"]}, headers=as_elder
    )
    dismissed = await env.client.post(f"{POLICIES}/matches/{match['id']}/dismiss", headers=as_elder)
    assert muted.json()["code"] == dismissed.json()["code"] == "delegation_denied"
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "total"
    ] == 1


async def test_every_read_and_change_of_grants_and_choices_is_audited(env: Env) -> None:
    """Found by an attack: grants, interests and dismissals left no audit event."""
    elder = await resident(env, "13800000324", ELDER)
    _, publisher = signed = await operators(env)
    policy_id = await publish(env, allowance(), signed)
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    me = env.auth(elder)
    grant = (await env.client.get("/api/v1/grants", headers=me)).json()["items"][0]
    await env.client.get(f"{POLICIES}/interests", headers=me)
    await env.client.put(f"{POLICIES}/interests", json={"muted": ["housing"]}, headers=me)
    (match,) = (await env.client.get(f"{POLICIES}/matches", headers=me)).json()["items"]
    await env.client.post(f"{POLICIES}/matches/{match['id']}/dismiss", headers=me)
    await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=me)
    mine = set(
        await AuditEvent.filter(subject_id=elder["account"]["id"]).values_list("action", flat=True)
    )
    assert {
        "policy_push.grants.read",
        "policy_push.interests.read",
        "policy_push.interests.write",
        "policy_push.match.dismiss",
        "policy_push.grant.confirm",
    } <= mine
    await env.client.get("/api/v1/admin/grants", headers=env.auth(publisher))
    assert await AuditEvent.filter(action="policy_push.grants.read", actor_kind="operator").exists()


async def test_money_without_application_never_rests_on_a_self_declared_fact(env: Env) -> None:
    """Found by an attack: an auto-grant on a declared high-tech certificate paid out."""
    editor, _ = await operators(env)
    declared = allowance(
        rule={"any": [ALLOWANCE, {"field": "disability_level", "op": ">=", "value": 1}]}
    )
    refused = await env.client.post(ADMIN, json=declared, headers=env.auth(editor))
    assert (refused.status_code, refused.json()["code"]) == (422, "policy_rule_invalid")
    assert refused.json()["errors"][0]["field"] == "rule.any[1].field"
    assert refused.json()["errors"][0]["reason"] == "self_declared_in_auto_grant"
    # The same rule is fine for a policy people apply for.
    fine = await env.client.post(
        ADMIN, json={**declared, "auto_grant": False}, headers=env.auth(editor)
    )
    assert fine.status_code == 201, fine.text


async def test_a_registry_refresh_runs_once_a_minute_however_often_asked(env: Env) -> None:
    """Found by an attack: sixty refreshes at once made sixty registry reads."""
    tokens = await env.verified("13800000325", ELDER)
    answers = await asyncio.gather(
        *(
            env.client.post(f"{POLICIES}/profile/refresh", headers=env.auth(tokens))
            for _ in range(20)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [429] * 19
    late = next(a for a in answers if a.status_code == 429)
    assert late.json()["code"] == "policy_refresh_too_soon" and late.headers["Retry-After"] == "60"
    reads = await AuditEvent.filter(action="provincial.population.read").count()
    assert reads == 1


async def test_a_batch_that_starts_after_retirement_writes_nothing(env: Env) -> None:
    """Found by an attack: retiring while the job ran left grants and messages behind."""
    elder = await resident(env, "13800000326", ELDER)
    _, publisher = signed = await operators(env)
    policy_id = await publish(env, allowance(), signed)
    found = await matching.in_force(await Policy.get(id=policy_id), TODAY)
    assert found is not None  # the job has read the policy and is about to write a batch
    await env.client.post(f"{ADMIN}/{policy_id}/retire", headers=env.auth(publisher))
    with pytest.raises(matching.Superseded):
        await matching.record(runtime(env), found, [elder["account"]["id"]], TODAY)
    assert await Grant.filter(policy_id=policy_id).count() == 0
    assert await told(elder["account"]["id"]) == []
    report = await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    assert report == {"skipped": "not the published version"}


async def test_the_amount_paid_is_the_one_in_force_on_the_day_confirmed(env: Env) -> None:
    """Found by an attack: a dated change after the offer was made was not paid."""
    elder = await resident(env, "13800000327", ELDER)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    # Offered when 50 yuan was in force; 100 yuan is in force today.
    await Grant.filter(policy_id=policy_id).update(amount_fen=5000)
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    paid = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
    assert (paid.json()["state"], paid.json()["amount_fen"]) == ("paid", 10000)
    (payment,) = env.sandbox.upstream("benefit_payment").payments.values()
    assert payment["request"]["amount_fen"] == 10000


async def test_a_relative_who_may_update_cannot_read_the_facts_back(env: Env) -> None:
    """Found by an attack: a declaration's answer carried the elder's whole profile."""
    elder = await resident(env, "13800000328", ELDER)
    child = await env.verified("13800000329", YOUNG)
    await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000329", "scopes": ["update_policy_profile"]},
        headers=env.auth(elder),
    )
    as_elder = env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    declared = await env.client.put(
        f"{POLICIES}/profile/declared", json={"disability_level": 0}, headers=as_elder
    )
    assert declared.json() == {"new_policies_found": 0}
    assert (await env.client.get(f"{POLICIES}/profile", headers=as_elder)).json()[
        "code"
    ] == "delegation_denied"


async def test_ended_policies_withdraw_what_nobody_confirmed(env: Env) -> None:
    """Found by an attack: offers of a policy past its end date stayed open."""
    elder = await resident(env, "13800000330", ELDER)
    policy_id = await publish(env, allowance())
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    await Policy.filter(id=policy_id).update(expires_on=TODAY - timedelta(days=1))
    await matching.daily(runtime(env))
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert grant["state"] == "withdrawn"


async def test_nothing_is_offered_for_nothing(env: Env) -> None:
    """Found by an attack: a zero-fen auto-grant told people to claim ¥0.00."""
    editor, _ = await operators(env)
    zero = allowance(amounts=[{"from": "2023-07-01", "amount_fen": 0, "reference": "第五条"}])
    refused = await env.client.post(ADMIN, json=zero, headers=env.auth(editor))
    assert (refused.status_code, refused.json()["code"]) == (422, "policy_amounts_invalid")


async def test_a_dismissed_policy_stays_dismissed_when_a_new_version_finds_them(env: Env) -> None:
    """Found by an attack: a new version brought a dismissed match back."""
    elder = await resident(env, "13800000331", ELDER)
    editor, publisher = signed = await operators(env)
    policy_id = await publish(env, allowance(), signed)
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    (match,) = (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "items"
    ]
    await env.client.post(f"{POLICIES}/matches/{match['id']}/dismiss", headers=env.auth(elder))
    richer = allowance(amounts=[{"from": "2023-07-01", "amount_fen": 20000, "reference": "第五条"}])
    await env.client.put(f"{ADMIN}/{policy_id}", json=richer, headers=env.auth(editor))
    await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 2}, headers=env.auth(publisher)
    )
    await matching.match_policy(runtime(env), policy_id=policy_id, version=2)
    assert (await env.client.get(f"{POLICIES}/matches", headers=env.auth(elder))).json()[
        "total"
    ] == 0


async def test_a_large_payment_the_province_reviews_is_followed_up(env: Env) -> None:
    elder = await resident(env, "13800000332", ELDER)
    big = allowance(amounts=[{"from": "2023-07-01", "amount_fen": 600000, "reference": "第五条"}])
    policy_id = await publish(env, big)
    await matching.match_policy(runtime(env), policy_id=policy_id, version=1)
    grant = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    tapped = await env.client.post(f"/api/v1/grants/{grant['id']}/confirm", headers=env.auth(elder))
    assert tapped.json()["state"] == "confirmed" and tapped.json()["payment_id"]  # under review
    env.sandbox.app[FAULTS].set("benefit_payment", Fault(kind="error"))
    still = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert still["state"] == "confirmed"  # the province silent: the last state known
    env.sandbox.app[FAULTS].set("benefit_payment", Fault())
    async with httpx.AsyncClient() as http:
        settled = await http.put(
            f"{env.sandbox.url}/admin/benefit-payment/payments/{grant['id']}",
            json={"status": "paid"},
        )
    assert settled.status_code == 200, settled.text
    paid = (await env.client.get("/api/v1/grants", headers=env.auth(elder))).json()["items"][0]
    assert paid["state"] == "paid" and paid["paid_at"]
