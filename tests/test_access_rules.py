"""Access rules are typed and checked at start-up: every route has one, and a rule that is
missing, misspelt or names an unknown role or scope stops the app from starting."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from app_api.access import AccessRuleError, handlers_of, mistakes, rule_of
from app_api.app import create_app
from app_api.auth.guards import require_access
from app_api.delegation.scopes import grantable
from app_api.errors import EXCEPTION_HANDLERS
from app_api.identity.models import ROLES, Operator
from miniprograms.access import Access, operator, public, resident, signed_in
from tests.conftest import Env, make_settings

AUDITOR = "13900007777"
REVIEWER = "13900007778"
EVENTS = "/api/v1/audit/events"


def built_app() -> Litestar:
    """The app as ``serve`` builds it (construction runs no lifespan, so nothing is opened)."""
    cfg = make_settings("sqlite://:memory:", "fakeredis://access-rules", "http://127.0.0.1:9")
    return create_app(cfg, start_worker=False)


def refusal(**declaration: Any) -> str:
    """Mount one more route on a built app; the message it is refused with."""

    @get("/api/v1/extra", **declaration)
    async def extra() -> None:
        return None

    app = built_app()
    with pytest.raises(AccessRuleError) as refused:
        app.register(extra)
    message = str(refused.value)
    assert "GET /api/v1/extra" in message and "test_access_rules" in message  # names the route
    return message


def test_every_route_of_the_app_has_a_valid_rule() -> None:
    app = built_app()
    rules: dict[tuple[str, str], Access] = {}
    for route in app.routes:
        for handler in handlers_of(route):
            assert mistakes(handler, roles=ROLES, scopes=grantable()) == [], route.path
            for method in handler.http_methods:
                rules[(method, route.path)] = rule_of(handler)
    assert len(rules) > 40
    # Operations and the document are public, as they were; Litestar's own OPTIONS
    # answers need a session unless their router says otherwise.
    assert rules[("GET", "/metrics")] == public()
    assert rules[("GET", "/schema/openapi.json")] == public()
    assert rules[("OPTIONS", "/schema/openapi.json")] == public()
    assert rules[("OPTIONS", "/api/v1/delegations")] == signed_in()
    assert rules[("GET", "/api/v1/audit/events")] == operator("auditor")
    assert rules[("GET", "/api/v1/profile")] == resident(scope="view_profile")
    assert rules[("GET", "/api/v1/social-security/summary")].scope == "view_social_security"


def test_start_up_refuses_a_route_without_a_rule() -> None:
    assert "no access rule" in refusal()
    assert "no access rule" in refusal(opt={"problems": ("not_found",)})


def test_start_up_refuses_a_misspelt_or_untyped_declaration() -> None:
    assert "unknown opt keys ['role']" in refusal(opt={"access": resident(), "role": "auditor"})
    # Litestar files a decorator's unknown keyword arguments under opt as well.
    assert "unknown opt keys ['acess']" in refusal(acess=resident())
    # The untyped dicts of before are refused rather than read.
    message = refusal(opt={"access": {"roles": {"auditor"}}})
    assert "is a dict, not miniprograms.access.Access" in message
    message = refusal(opt={"access": public(), "problems": "not_found"})
    assert "opt['problems'] must be a tuple of problem codes" in message


def test_start_up_refuses_an_unknown_role() -> None:
    message = refusal(opt={"access": operator("auditer")})
    assert "unknown roles ['auditer']" in message and "'auditor'" in message


def test_start_up_refuses_an_unknown_scope_or_one_not_for_residents() -> None:
    assert "unknown delegation scope 'view_everything'" in refusal(
        opt={"access": resident(scope="view_everything")}
    )
    message = refusal(opt={"access": Access(scope="view_profile")})
    assert "scope 'view_profile' on a route that is not for residents only" in message


def test_start_up_refuses_a_wrong_assurance_level() -> None:
    assert "assurance level 3" in refusal(opt={"access": resident(aal=3)})  # type: ignore[arg-type]
    lax = Access(kind="operator", roles=frozenset({"auditor"}), aal=1)
    assert "an operator rule has aal=2" in refusal(opt={"access": lax})
    assert "a public rule cannot also" in refusal(opt={"access": Access(public=True, aal=2)})
    assert "roles are for operator rules only" in refusal(
        opt={"access": Access(kind="resident", roles=frozenset({"auditor"}))}
    )


async def test_the_guard_denies_a_route_without_a_rule_even_unchecked() -> None:
    """Default-deny does not rest on the start-up check alone."""

    @get("/unruled", opt={"problems": ()})
    async def unruled() -> str:
        return "served"

    app = Litestar([unruled], guards=[require_access], exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    async with AsyncTestClient(app) as client:
        resp = await client.get("/unruled")
    assert resp.status_code == 403
    assert "served" not in resp.text


async def _operator(env: Env, phone: str, role: str, *, step_up: bool = True) -> dict[str, Any]:
    await Operator.create(phone=phone, name="操作员", roles=[role])
    tokens = await env.login(phone, portal="operator")
    if step_up:
        await env.enrol_totp(tokens)
    return tokens


async def test_an_operator_only_route_admits_only_its_role_past_the_second_factor(
    env: Env,
) -> None:
    async def status(tokens: dict[str, Any] | None) -> tuple[int, str | None]:
        headers = env.auth(tokens) if tokens else {}
        resp = await env.client.get(EVENTS, headers=headers)
        return resp.status_code, None if resp.status_code == 200 else resp.json()["code"]

    assert await status(None) == (401, "not_authenticated")
    assert await status(await env.login("13400000021")) == (403, "forbidden")
    not_stepped_up = await _operator(env, AUDITOR, "auditor", step_up=False)
    assert await status(not_stepped_up) == (403, "mfa_required")
    assert await status(await _operator(env, REVIEWER, "reviewer")) == (403, "forbidden")
    await env.enrol_totp(not_stepped_up)
    assert await status(not_stepped_up) == (200, None)
    await Operator.filter(phone=AUDITOR).update(active=False)
    assert await status(not_stepped_up) == (401, "token_invalid")


async def test_a_scoped_route_serves_a_relative_only_with_that_scope(env: Env) -> None:
    elder = await env.login("13400000031")
    child = await env.login("13400000032")
    elder_id = elder["account"]["id"]
    acting = env.auth(child, **{"X-Act-As": elder_id})

    async def grant(scope: str) -> None:
        resp = await env.client.post(
            "/api/v1/delegations",
            json={
                "relative_phone": "13400000032",
                "scopes": [scope],
                "days": 30,
                "relationship": "child",
            },
            headers=env.auth(elder),
        )
        assert resp.status_code == 201, resp.text

    await grant("view_housing_fund")
    denied = await env.client.get("/api/v1/profile", headers=acting)
    assert (denied.status_code, denied.json()["code"]) == (403, "delegation_denied")
    await grant("view_profile")
    allowed = await env.client.get("/api/v1/profile", headers=acting)
    assert allowed.status_code == 200
    assert allowed.json()["resident_id"] == elder_id
    # A route without a scope never acts for someone else.
    mine = await env.client.get("/api/v1/me/access-log", headers=acting)
    assert (mine.status_code, mine.json()["code"]) == (403, "delegation_denied")
