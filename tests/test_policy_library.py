"""The policy library: found by Chinese words on both databases, drafted by one operator and
published by another, versions kept, amounts dated."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

import pytest

from app_api.identity.models import Operator
from miniprograms.contract import DemoSeed
from miniprograms.policy_push import demo, search
from tests.conftest import Env

POLICIES = "/api/v1/policies"
ADMIN = "/api/v1/admin/policies"
# Queries residents type, short and long; each answer is checked against plain substring
# search over the same words (the oracle), so no hit is missed and none is made up.
QUERIES = (
    "高龄",
    "稳岗",
    "高龄津贴",
    "稳岗返还",
    "创业",
    "补贴",
    "残疾人",
    "公积金",
    "租房补贴",
    "养老金",
    "技能",
    "高新技术企业",
    "孤儿",
    "宿人社规",
    "2026",
    "低保",
    "津贴 高龄",  # two terms, both required, in any order
    "老人补贴",  # 老人 and 补贴 each occur in several policies; the phrase must
    # The grams of 创业房租 are all in 大学生创业园入驻企业房租补贴办法 (创业园…企业房租) but the
    # phrase is not: no hit. Written as two words, it is one.
    "创业房租",
    "创业 房租",
    "ｗ",
    # Latin and digits match from a word's start: 2号 is in 〔2023〕2号, not in 〔2026〕12号.
    "2号",
    "12号",
    "202",
    "宿政办发〔2023〕31号",
    # Nothing to look for as words: nothing found (not the whole library).
    "%",
    "😀",
    "高%",
)


async def _seed() -> None:
    await demo.seed(DemoSeed(rng=random.Random(1), today=date(2026, 11, 28), residents=()))


def _oracle(query: str) -> set[str]:
    """Plain substring search over the same words (a query of symbols alone finds nothing:
    there is no word in it to look for)."""
    if not search.query_grams(query):
        return set()
    wanted = search.chunks(query)
    return {
        entry[2]
        for entry in demo.POLICIES
        if search.contains_all(
            "\n".join((entry[2], entry[3], entry[4], entry[5], entry[6])), wanted
        )
    }


async def test_chinese_queries_find_exactly_the_policies_whose_words_contain_them(
    env: Env,
) -> None:
    await _seed()
    for query in QUERIES:
        found = await env.client.get(POLICIES, params={"q": query, "page_size": 100})
        assert found.status_code == 200, found.text
        titles = [p["title"] for p in found.json()["items"]]
        assert set(titles) == _oracle(query), query
        assert found.json()["total"] == len(titles)
    assert _oracle("创业房租") == set() and len(_oracle("创业 房租")) == 1
    assert _oracle("%") == set() and len(_oracle("202")) == 20
    first = (await env.client.get(POLICIES, params={"q": "高龄"})).json()["items"][0]
    assert first["title"] == "宿迁市高龄津贴发放实施办法"
    steady = (await env.client.get(POLICIES, params={"q": "稳岗"})).json()["items"]
    assert [p["title"] for p in steady] == ["关于做好2026年失业保险稳岗返还工作的通知"]
    # Title hits come before hits in the summary alone.
    pension = (await env.client.get(POLICIES, params={"q": "养老"})).json()["items"]
    assert "养老" in pension[0]["title"]
    companies = await env.client.get(
        POLICIES, params={"audience": "enterprise", "category": "enterprise_support"}
    )
    assert companies.json()["total"] == 5


async def _operators(env: Env) -> tuple[dict[str, Any], dict[str, Any]]:
    """An editor (编辑) and a publisher (审核发布), both past the second factor."""
    signed = []
    for phone, name, role in (
        ("13900000101", "编辑", "policy_editor"),
        ("13900000102", "发布", "policy_publisher"),
    ):
        await Operator.create(phone=phone, name=name, roles=[role])
        tokens = await env.login(phone, portal="operator")
        await env.enrol_totp(tokens)
        signed.append(tokens)
    return signed[0], signed[1]


def _policy(**changes: Any) -> dict[str, Any]:
    written = {
        "audience": "resident",
        "category": "elderly_care",
        "title": "宿迁市百岁老人长寿补贴办法",
        "department": "宿迁市民政局",
        "document_no": "宿民发〔2026〕1号",
        "summary": "本市户籍百岁老人按月领取长寿补贴。",
        "full_text": "第一条 为弘扬敬老传统……",
        "effective_from": "2026-01-01",
        "benefit": "每月发放长寿补贴",
        "amounts": [
            {"from": "2026-01-01", "amount_fen": 50000, "reference": "第三条"},
            {"from": "2027-01-01", "amount_fen": 60000, "reference": "第三条（2026年修订）"},
        ],
        "how_to_apply": "无需申请，符合条件自动发放。",
    }
    return {**written, **changes}


async def test_one_operator_drafts_another_publishes_and_versions_are_kept(env: Env) -> None:
    editor, publisher = await _operators(env)
    drafted = await env.client.post(ADMIN, json=_policy(), headers=env.auth(editor))
    assert drafted.status_code == 201, drafted.text
    policy_id = drafted.json()["id"]
    assert (await env.client.get(f"{POLICIES}/{policy_id}")).status_code == 404  # a draft
    # Whoever wrote it cannot publish it: an editor lacks the role, and the rule is per person.
    assert (
        await env.client.post(
            f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(editor)
        )
    ).status_code == 403
    published = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(publisher)
    )
    assert published.json()["state"] == "published"
    shown = (await env.client.get(f"{POLICIES}/{policy_id}")).json()
    assert shown["amount"]["amount_fen"] == 50000 and shown["amount"]["next_amount_fen"] == 60000
    assert shown["amount"]["next_change"] == "2027-01-01"
    # An edit of the published policy is version 2, unseen until published again.
    revised = await env.client.put(
        f"{ADMIN}/{policy_id}", json=_policy(title="宿迁市百岁老人长寿补贴发放办法"),
        headers=env.auth(editor),
    )  # fmt: skip
    assert [v["number"] for v in revised.json()["versions"]] == [1, 2]
    assert (await env.client.get(f"{POLICIES}/{policy_id}")).json()["title"] == _policy()["title"]
    again = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 2}, headers=env.auth(publisher)
    )
    assert again.json()["published_version"] == 2
    assert (await env.client.get(f"{POLICIES}/{policy_id}")).json()["version"] == 2
    nothing = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 2}, headers=env.auth(publisher)
    )
    assert (nothing.status_code, nothing.json()["code"]) == (409, "policy_nothing_to_publish")
    retired = await env.client.post(f"{ADMIN}/{policy_id}/retire", headers=env.auth(publisher))
    assert retired.json()["state"] == "retired"
    assert (await env.client.get(f"{POLICIES}/{policy_id}")).status_code == 404
    gone = await env.client.get(POLICIES, params={"q": "长寿补贴"})
    assert gone.json()["total"] == 0
    history = (await env.client.get(f"{ADMIN}/{policy_id}", headers=env.auth(editor))).json()
    assert [v["title"] for v in history["versions"]] == [
        "宿迁市百岁老人长寿补贴办法",
        "宿迁市百岁老人长寿补贴发放办法",
    ]


async def test_a_publisher_cannot_publish_what_they_wrote(env: Env) -> None:
    _, publisher = await _operators(env)
    operator = await Operator.get(phone="13900000102")
    operator.roles = ["policy_editor", "policy_publisher"]
    await operator.save()
    mine = await env.client.post(ADMIN, json=_policy(), headers=env.auth(publisher))
    refused = await env.client.post(
        f"{ADMIN}/{mine.json()['id']}/publish", json={"version": 1}, headers=env.auth(publisher)
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "policy_two_person")


async def test_two_publishers_at_once_publish_once(env: Env) -> None:
    editor, publisher = await _operators(env)
    await Operator.create(phone="13900000103", name="发布二", roles=["policy_publisher"])
    second = await env.login("13900000103", portal="operator")
    await env.enrol_totp(second)
    policy_id = (await env.client.post(ADMIN, json=_policy(), headers=env.auth(editor))).json()[
        "id"
    ]
    answers = await asyncio.gather(
        *(
            env.client.post(
                f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(who)
            )
            for who in (publisher, second) * 5
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"effective_to": "2025-12-31"}, "policy_dates_invalid"),
        (
            {
                "amounts": [
                    {"from": "2027-01-01", "amount_fen": 1, "reference": "a"},
                    {"from": "2026-01-01", "amount_fen": 2, "reference": "b"},
                ]
            },
            "policy_amounts_invalid",
        ),
        ({"category": "lottery"}, "validation_failed"),
        ({"title": "   "}, "validation_failed"),
        ({"summary": "a\u0000b"}, "validation_failed"),
        ({"auto_grant": True}, "policy_rule_invalid"),  # 免申即享 for whom? a rule is needed
        (
            {"amounts": [{"from": "2026-01-01", "amount_fen": -1, "reference": "a"}]},
            "validation_failed",
        ),
    ],
)
async def test_a_policy_that_does_not_hold_together_is_refused_and_nothing_is_kept(
    env: Env, changes: dict[str, Any], code: str
) -> None:
    editor, _ = await _operators(env)
    refused = await env.client.post(ADMIN, json=_policy(**changes), headers=env.auth(editor))
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    assert (await env.client.get(POLICIES)).json()["total"] == 0


async def test_a_rule_that_cannot_be_used_is_refused_with_where_and_why(env: Env) -> None:
    editor, _ = await _operators(env)
    rule = {
        "all": [
            {"field": "age", "op": ">=", "value": 80},
            {"field": "shoe_size", "op": "=", "value": 42},
        ]
    }
    refused = await env.client.post(ADMIN, json=_policy(rule=rule), headers=env.auth(editor))
    assert (refused.status_code, refused.json()["code"]) == (422, "policy_rule_invalid")
    assert refused.json()["errors"] == [
        {"field": "rule.all[1].field", "reason": "unknown_field", "source": "body"}
    ]
    # An enterprise field in a resident policy is as unknown as a made-up one.
    wrong_audience = {"field": "high_tech_certified", "op": "=", "value": True}
    refused = await env.client.post(
        ADMIN, json=_policy(rule=wrong_audience), headers=env.auth(editor)
    )
    assert refused.json()["errors"][0]["field"] == "rule.field"
    fine = {"all": [{"field": "age", "op": ">=", "value": 100}]}
    kept = await env.client.post(ADMIN, json=_policy(rule=fine), headers=env.auth(editor))
    assert kept.status_code == 201
    assert (await env.client.get(POLICIES)).json()["total"] == 0  # a draft, unpublished


async def test_residents_cannot_write_the_library(env: Env) -> None:
    tokens = await env.login("13800000005")
    assert (
        await env.client.post(ADMIN, json=_policy(), headers=env.auth(tokens))
    ).status_code == 403


async def test_the_home_screen_tells_a_resident_what_is_in_force(env: Env) -> None:
    await _seed()
    tokens = await env.verified("13800000001", "321302198201150138")
    cards = {
        c["id"]: c
        for c in (await env.client.get("/api/v1/home", headers=env.auth(tokens))).json()["cards"]
    }
    assert cards["policy_push"]["summary"].startswith("现行政策15条")  # the 15 for residents
    assert cards["policy_push"]["actions"][0]["href"] == "/api/v1/policies"


async def test_what_is_published_is_what_the_publisher_reviewed_and_wrote_none_of(
    env: Env,
) -> None:
    editor, publisher = await _operators(env)
    policy_id = (await env.client.post(ADMIN, json=_policy(), headers=env.auth(editor))).json()[
        "id"
    ]
    reviewed = (await env.client.get(f"{ADMIN}/{policy_id}", headers=env.auth(publisher))).json()
    assert reviewed["versions"][-1]["number"] == 1
    # The author changes the words after the review: every save is a version of its own.
    changed = _policy(summary="本市户籍百岁老人每月领取长寿补贴五万元。")
    await env.client.put(f"{ADMIN}/{policy_id}", json=changed, headers=env.auth(editor))
    stale = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(publisher)
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "policy_changed_since_review")
    # A publisher who saved any version since the last publication is an author too, even
    # a save that changed nothing.
    both = await Operator.create(
        phone="13900000104", name="兼任", roles=["policy_editor", "policy_publisher"]
    )
    assert both.roles
    dual = await env.login("13900000104", portal="operator")
    await env.enrol_totp(dual)
    await env.client.put(f"{ADMIN}/{policy_id}", json=changed, headers=env.auth(dual))
    await env.client.put(f"{ADMIN}/{policy_id}", json=changed, headers=env.auth(editor))
    mine = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 4}, headers=env.auth(dual)
    )
    assert (mine.status_code, mine.json()["code"]) == (409, "policy_two_person")
    drafts = await env.client.get(ADMIN, params={"state": "draft"}, headers=env.auth(publisher))
    assert [p["id"] for p in drafts.json()["items"]] == [policy_id]
    done = await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 4}, headers=env.auth(publisher)
    )
    assert done.json()["published_version"] == 4
    assert (await env.client.get(f"{POLICIES}/{policy_id}")).json()["summary"] == changed["summary"]
    retired = await env.client.post(f"{ADMIN}/{policy_id}/retire", headers=env.auth(publisher))
    assert retired.status_code == 200
    twice = await env.client.post(f"{ADMIN}/{policy_id}/retire", headers=env.auth(publisher))
    assert twice.json()["code"] == "policy_retired"


async def test_a_policy_not_yet_in_force_is_not_listed_and_its_rule_is_public(env: Env) -> None:
    editor, publisher = await _operators(env)
    rule = {"all": [{"field": "age", "op": ">=", "value": 100}]}
    coming = _policy(effective_from="2099-01-01", rule=rule, title="宿迁市远期政策")
    policy_id = (await env.client.post(ADMIN, json=coming, headers=env.auth(editor))).json()["id"]
    await env.client.post(
        f"{ADMIN}/{policy_id}/publish", json={"version": 1}, headers=env.auth(publisher)
    )
    assert (await env.client.get(POLICIES)).json()["total"] == 0  # not in force yet
    shown = (await env.client.get(f"{POLICIES}/{policy_id}")).json()
    assert (shown["in_force"], shown["amount"]) == (False, None)
    assert shown["rule"] == rule  # who qualifies is public, as on paper
