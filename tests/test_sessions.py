"""Refresh rotation and reuse detection: a copied refresh token ends the whole session."""

from __future__ import annotations

import asyncio

from tests.conftest import Env

PHONE = "13700000001"


async def _refresh(env: Env, token: str):
    return await env.client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_each_refresh_rotates_and_old_access_tokens_stay_until_expiry(env: Env) -> None:
    first = await env.login(PHONE)
    second = (await _refresh(env, first["refresh_token"])).json()
    third = (await _refresh(env, second["refresh_token"])).json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    # Every access token handed out so far still works until it expires, not only the newest.
    for tokens in (first, second, third):
        me = await env.client.get("/api/v1/me", headers=env.auth(tokens))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == first["account"]["id"]


async def test_reusing_a_spent_refresh_token_revokes_the_family(env: Env) -> None:
    first = await env.login(PHONE)
    second = (await _refresh(env, first["refresh_token"])).json()
    stolen = await _refresh(env, first["refresh_token"])
    assert stolen.status_code == 401
    assert stolen.json()["code"] == "refresh_reused"
    # The legitimate holder's tokens are dead too: both access and refresh.
    me = await env.client.get("/api/v1/me", headers=env.auth(second))
    assert me.status_code == 401
    assert (await _refresh(env, second["refresh_token"])).status_code == 401


async def test_other_sessions_survive_a_revoked_family(env: Env) -> None:
    phone_a = await env.login(PHONE)
    tablet = await env.login(PHONE)
    await env.client.post("/api/v1/auth/logout", headers=env.auth(phone_a))
    assert (await env.client.get("/api/v1/me", headers=env.auth(tablet))).status_code == 200


async def test_concurrent_refresh_with_one_token_issues_one_pair(env: Env) -> None:
    tokens = await env.login(PHONE)
    results = await asyncio.gather(*(_refresh(env, tokens["refresh_token"]) for _ in range(4)))
    assert sum(r.status_code == 200 for r in results) == 1
    assert all(
        r.json()["code"] in ("refresh_reused", "token_invalid")
        for r in results
        if r.status_code != 200
    )


async def test_unknown_refresh_token(env: Env) -> None:
    resp = await _refresh(env, "not-a-token")
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_invalid"


async def test_tokens_are_stored_only_as_digests(env: Env) -> None:
    tokens = await env.login(PHONE)
    redis = env.app.state.services.redis
    keys = " ".join(await redis.keys("*"))
    assert tokens["access_token"] not in keys and tokens["refresh_token"] not in keys
    access_keys = await redis.keys("superapp:access:*")
    assert 895 <= await redis.ttl(access_keys[0]) <= 900


async def test_a_token_naming_another_family_is_refused(env: Env) -> None:
    mine = await env.login(PHONE)
    theirs = await env.login("13700000002")
    family, _, secret = mine["access_token"].partition(".")
    their_family = theirs["access_token"].partition(".")[0]
    for forged in (f"{their_family}.{secret}", secret, f"{family}.", f".{secret}"):
        me = await env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert me.status_code == 401, forged
        assert me.json()["code"] == "token_invalid"


async def test_every_session_and_code_record_expires(env: Env) -> None:
    """No token, code or counter is kept in Redis without an end."""
    tokens = await env.login(PHONE)
    await _refresh(env, tokens["refresh_token"])
    await env.request_code("13700000003")
    redis = env.app.state.services.redis
    keys = [k for k in await redis.keys("superapp:*") if not k.startswith("superapp:upstream")]
    prefixes = {k.split(":")[1] for k in keys}
    assert {"access", "refresh", "family", "otp", "otp-hour"} <= prefixes
    for key in keys:
        assert await redis.ttl(key) > 0, key
