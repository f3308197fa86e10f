"""The home screen: concurrent cards under a deadline; upstream trouble degrades a card, never the page."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.sandbox import FAULTS
from integrations.sandbox.faults import Fault
from tests.conftest import Env, age_upstream_copies

WORKER_WITH_LOAN = "321302198503120137"
RETIREE = "321311195208210247"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"otp_resend_interval_s": 0, "provincial_budget_s": 0.6, "card_deadline_s": 1.0}


def _cards(resp) -> dict[str, dict]:
    assert resp.status_code == 200, resp.text
    return {c["id"]: c for c in resp.json()["cards"]}


async def test_a_worker_sees_both_cards(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER_WITH_LOAN)
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    assert list(cards) == ["social_security", "housing_fund", "policy_push"]
    assert all(c["status"] == "ok" for c in cards.values())
    assert cards["social_security"]["as_of"] and cards["housing_fund"]["as_of"]
    assert cards["social_security"]["title"] == "社保"
    assert "已缴" in cards["social_security"]["summary"]
    assert "下期还款" in cards["housing_fund"]["summary"]
    assert {a["id"] for a in cards["housing_fund"]["actions"]} >= {
        "transactions",
        "loan",
        "withdraw",
    }


async def test_a_retiree_sees_their_pension_in_english(env: Env) -> None:
    tokens = await env.verified("13800000002", RETIREE)
    cards = _cards(
        await env.client.get("/api/v1/home", headers=env.auth(tokens, **{"Accept-Language": "en"}))
    )
    assert cards["social_security"]["summary"].startswith("Receiving a pension · last paid CN¥")
    assert "Sealed" in cards["housing_fund"]["summary"]


async def test_before_real_name_the_cards_ask_for_it(env: Env) -> None:
    tokens = await env.login("13800000009")
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    for card in cards.values():
        assert card["status"] == "ok"
        assert card["actions"][0]["href"] == "/api/v1/profile/identity"


@pytest.mark.parametrize("kind", ["error", "timeout", "throttle", "malformed"])
async def test_a_failing_upstream_with_a_copy_gives_a_degraded_card(env: Env, kind: str) -> None:
    tokens = await env.verified("13800000001", WORKER_WITH_LOAN)
    warm = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    await age_upstream_copies(env.app.state.services.gateway.cache, 7200)
    env.sandbox.app[FAULTS].set("housing_fund", Fault(kind=kind))
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    assert cards["housing_fund"]["status"] == "degraded"
    assert cards["housing_fund"]["summary"] == warm["housing_fund"]["summary"]
    assert cards["housing_fund"]["as_of"] < warm["housing_fund"]["as_of"]  # the aged copy's time
    assert cards["social_security"]["status"] == "ok"


@pytest.mark.parametrize("kind", ["error", "timeout", "throttle", "malformed"])
async def test_a_failing_upstream_without_a_copy_gives_an_unavailable_card(
    env: Env, kind: str
) -> None:
    tokens = await env.verified("13800000001", WORKER_WITH_LOAN)
    env.sandbox.app[FAULTS].set("housing_fund", Fault(kind=kind))
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    assert cards["housing_fund"]["status"] == "unavailable"
    assert cards["housing_fund"]["retry_after_s"] >= 1
    assert cards["housing_fund"]["summary"] == "暂时无法获取，请稍后下拉刷新。"
    assert cards["social_security"]["status"] == "ok"


# The card's deadline is shorter than one attempt of the provincial client (1 s by default),
# so it is the deadline that gives up, not the client.
@pytest.mark.parametrize(
    "settings_overrides",
    [{"otp_resend_interval_s": 0, "provincial_budget_s": 5.0, "card_deadline_s": 0.3}],
)
async def test_a_card_past_its_deadline_is_unavailable_and_the_page_still_answers(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER_WITH_LOAN)
    env.sandbox.app[FAULTS].set("social_security", Fault(kind="timeout", times=1))
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    late = cards["social_security"]
    # What the deadline branch shows: unavailable, come back in ten seconds (an upstream
    # that failed within the budget would have said when, or 30 s).
    assert (late["status"], late["retry_after_s"]) == ("unavailable", 10)
    assert late["summary"] == "暂时无法获取，请稍后下拉刷新。"
    assert cards["housing_fund"]["status"] == "ok"
    # The call given up on leaves nothing behind: the upstream answers, the card is back.
    again = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    assert again["social_security"]["status"] == "ok"


async def test_both_upstreams_down_still_a_page(env: Env) -> None:
    tokens = await env.verified("13800000001", WORKER_WITH_LOAN)
    for upstream in ("social_security", "housing_fund"):
        env.sandbox.app[FAULTS].set(upstream, Fault(kind="error"))
    cards = _cards(await env.client.get("/api/v1/home", headers=env.auth(tokens)))
    assert (cards["social_security"]["status"], cards["housing_fund"]["status"]) == (
        "unavailable",
        "unavailable",
    )
    # The policy library is ours, not the province's: it still answers.
    assert cards["policy_push"]["status"] == "ok"


async def test_home_is_the_callers_own(env: Env) -> None:
    elder = await env.verified("13800000002", RETIREE)
    child = await env.verified("13800000005", "321302198201150138")
    resp = await env.client.get(
        "/api/v1/home", headers=env.auth(child, **{"X-Act-As": elder["account"]["id"]})
    )
    assert resp.status_code == 403 and resp.json()["code"] == "delegation_denied"
