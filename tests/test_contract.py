"""The mini-program contract, proven with a throwaway program (tests/city_library) installed
the way any program is, through a real entry point, with no edit outside its folder."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app_api import errors, kv, mounting, settings
from app_api.app import create_app
from app_api.declarations import DeclarationError
from app_api.miniprogram import installed
from locales import N_
from miniprograms.contract import PROVIDED, MiniProgram, ProblemType
from notifications.models import Notification
from tests.asgi import serve_asgi
from tests.city_library.jobs import LIFECYCLE_KEY, remind_due_loans
from tests.conftest import Env, Sandbox, make_settings

ROOT = Path(__file__).resolve().parent.parent
READER = "321302198201150138"  # 王小明: the sandbox's library knows him as a reader
NO_CARD = "321322194604040248"  # 赵桂兰: no library card


def _clear_caches() -> None:
    installed.cache_clear()
    errors.registry.cache_clear()


@pytest.fixture(autouse=True)
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniProgram]:
    """Install tests/city_library as a distribution would: a dist-info with an entry point."""
    site = tmp_path_factory.mktemp("site")
    info = site / "city_library-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: city-library\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(
        "[superapp.miniprograms]\ncity_library = tests.city_library:PROGRAM\n"
    )
    sys.path.insert(0, str(site))
    _clear_caches()
    try:
        yield next(p for p in installed() if p.slug == "city_library")
    finally:
        sys.path.remove(str(site))
        _clear_caches()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    library_settings = settings.load({"SUPERAPP_CITY_LIBRARY_BRANCH": "宿城区图书馆"}).programs
    return {"otp_resend_interval_s": 0, "programs": library_settings}


@pytest.fixture
def library_settings(
    database_url: str, redis_url: str, sandbox: Sandbox, settings_overrides: dict[str, Any]
) -> settings.Settings:
    return make_settings(database_url, redis_url, sandbox.url, **settings_overrides)


@pytest.fixture
async def working(library_settings: settings.Settings, sandbox: Sandbox) -> AsyncIterator[Env]:
    """The service with its in-process job worker running."""
    app = create_app(library_settings, start_worker=True)
    async with serve_asgi(app) as client:
        yield Env(client=client, app=app, sandbox=sandbox, settings=library_settings)


async def test_the_program_is_mounted_from_its_entry_point(env: Env) -> None:
    tokens = await env.verified("13800000005", READER)
    resp = await env.client.get("/api/v1/library/loans", headers=env.auth(tokens))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["loans"] and body["renewal_days"] == 14
    assert all(loan["due"]["display"].endswith("日") for loan in body["loans"])
    document = (await env.client.get("/schema/openapi.json")).json()
    assert "/api/v1/library/loans" in document["paths"]


async def test_its_card_is_on_the_home_screen(env: Env) -> None:
    tokens = await env.verified("13800000005", READER)
    home = await env.client.get("/api/v1/home", headers=env.auth(tokens))
    cards = {card["id"]: card for card in home.json()["cards"]}
    assert list(cards)[-1] == "city_library"  # order=30: after the programs of this repository
    assert cards["city_library"]["title"] == "市图书馆"
    assert cards["city_library"]["summary"].startswith("在借图书")
    assert cards["city_library"]["status"] == "ok"


@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        ("zh-CN", "没有借阅证", "您还没有借阅证，请到宿城区图书馆办理。"),
        ("zh-TW", "沒有借閱證", "您還沒有借閱證，請到宿城區圖書館辦理。"),
        ("en", "No library card", "You have no library card yet. Ask at 宿城区图书馆."),
    ],
)
async def test_its_problem_is_told_in_three_languages_with_its_setting(
    env: Env, language: str, title: str, detail: str
) -> None:
    tokens = await env.verified("13800000007", NO_CARD)
    resp = await env.client.get(
        "/api/v1/library/loans", headers=env.auth(tokens, **{"Accept-Language": language})
    )
    assert resp.status_code == 404
    problem = resp.json()
    assert (problem["code"], problem["title"]) == ("library_card_missing", title)
    assert problem["detail"] == detail.replace("宿城區圖書館", "宿城区图书馆")


async def test_its_scope_can_be_granted_and_used_by_a_relative(env: Env) -> None:
    elder = await env.verified("13800000007", READER)
    son = await env.login("13800000005")
    grant = await env.client.post(
        "/api/v1/delegations",
        json={"relative_phone": "13800000005", "scopes": ["view_library_loans"], "days": 30},
        headers=env.auth(elder),
    )
    assert grant.status_code == 201, grant.text
    as_elder = env.auth(son, **{"X-Act-As": grant.json()["grantor_id"]})
    assert (await env.client.get("/api/v1/library/loans", headers=as_elder)).status_code == 200
    # ...and nothing else of hers
    assert (await env.client.get("/api/v1/profile", headers=as_elder)).status_code == 403


async def test_its_job_runs_in_the_worker_with_its_runtime(working: Env) -> None:
    tokens = await working.login("13800000005")
    runtime = working.app.state.services.runtimes["city_library"]
    await runtime.enqueue("publish_opening_hours", hours="8:30-18:00")
    for _ in range(100):
        resp = await working.client.get("/api/v1/library/hours", headers=working.auth(tokens))
        if resp.json()["opening_hours"]:
            break
        await asyncio.sleep(0.05)
    assert resp.json() == {"opening_hours": "8:30-18:00"}
    worker = working.app.state.jobs.worker()
    assert "city_library.publish_opening_hours" in worker.functions
    assert [c.cron for c in worker.cron_jobs if c.function.__qualname__.startswith("city")] == [
        "0 6 * * *"
    ]


async def test_its_hooks_run_at_start_and_stop(library_settings: settings.Settings) -> None:
    redis = kv.connect(library_settings.redis_url)
    app = create_app(library_settings, start_worker=False)
    async with serve_asgi(app):
        assert await redis.lrange(f"program:city_library:{LIFECYCLE_KEY}", 0, -1) == ["started"]
    assert await redis.lrange(f"program:city_library:{LIFECYCLE_KEY}", 0, -1) == [
        "started",
        "stopped",
    ]
    await redis.aclose()


def test_its_settings_join_the_production_checks() -> None:
    with pytest.raises(settings.SettingsError, match="SUPERAPP_CITY_LIBRARY_RENEWAL_DAYS"):
        settings.load({"SUPERAPP_ENV": "production", "SUPERAPP_CITY_LIBRARY_RENEWAL_DAYS": "0"})
    with pytest.raises(settings.SettingsError, match="city_library"):
        settings.load({"SUPERAPP_CITY_LIBRARY_RENEWAL_DAYS": "two weeks"})
    loaded = settings.load({"SUPERAPP_CITY_LIBRARY_RENEWAL_DAYS": "21"})
    assert loaded.programs["city_library"].renewal_days == 21


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"problems": {"not_found": ProblemType(404, N_("x"), N_("y"))}}, "already declared"),
        ({"problems": {"real_name_required": (403, "x", "y")}}, "miniprograms.common"),
        ({"dependencies": {"subject": lambda: None}}, "shadow"),
        ({"dependencies": {"data": lambda: None}}, "shadow"),
        ({"slug": "sms"}, "SUPERAPP_SMS_"),
        ({"scopes": {"view_profile": N_("x")}}, "scope 'view_profile'"),
        ({"slug": "City Library"}, "slug"),
    ],
)
def test_a_declaration_that_clashes_stops_the_start(
    library: MiniProgram, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeclarationError, match=message):
        others = [p for p in installed() if p is not library]
        mounting.prepare([*others, dataclasses.replace(library, **change)])


def test_a_second_program_cannot_take_another_programs_problem(library: MiniProgram) -> None:
    other = dataclasses.replace(library, slug="city_museum", scopes={})
    with pytest.raises(DeclarationError, match="mini-program 'city_library'"):
        mounting.prepare([*installed(), other])


def test_nothing_of_the_service_names_it() -> None:
    """Mounted with zero edits outside its folder: no code, catalog or contract names it."""
    rooms = ["app_api", "miniprograms", "integrations", "notifications", "accessibility"]
    found = subprocess.run(
        [
            "git",
            "grep",
            "--untracked",
            "-l",
            "-i",
            "-e",
            "city_library",
            "-e",
            "city-library",
            "--",
            *rooms,
            "locales",
            "openapi",
            "pyproject.toml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1 and not found.stdout, found.stdout


def test_app_api_provides_every_dependency_the_contract_promises() -> None:
    from app_api.deps import DEPENDENCIES

    assert set(PROVIDED) <= {*DEPENDENCIES, "runtime"}


async def test_a_program_gets_its_own_clients_and_keys_only(env: Env) -> None:
    runtimes = env.app.state.services.runtimes
    assert set(runtimes["city_library"].clients) == {"city_library"}
    assert set(runtimes["social_security"].clients) == {"social_security"}
    assert not hasattr(runtimes["city_library"], "redis")
    await runtimes["city_library"].store.set("superapp:family:x", "1")
    redis = env.app.state.services.redis
    assert await redis.get("superapp:family:x") is None
    assert await redis.get("program:city_library:superapp:family:x") == "1"
    with pytest.raises(LookupError, match=r"no job 'city_library\.publish_opening_hours'"):
        await runtimes["city_library"].enqueue("city_library.publish_opening_hours")


async def test_its_demo_data_joins_the_demo_city(database_url: str) -> None:
    from app_api import db, demo
    from app_api.identity.crypto import PiiVault
    from app_api.settings import DEV_PII_KEY

    await db.init(database_url)
    try:
        counts = await demo.seed(PiiVault(DEV_PII_KEY), residents=20, enterprises=2)
    finally:
        await db.close()
    assert counts["city_library.readers"] == sum(1 for r in demo.NAMED if r.id_number)


async def test_it_tells_many_readers_once_each_in_their_own_words(env: Env) -> None:
    son = await env.login("13800000005")
    elder = await env.login("13800000007")
    ids = [
        (await env.client.get("/api/v1/me", headers=env.auth(t))).json()["id"] for t in (son, elder)
    ]
    runtime = env.app.state.services.runtimes["city_library"]
    books = {ids[0]: 2, ids[1]: 1}
    assert await remind_due_loans(runtime, "12月1日", books) == 2
    assert await remind_due_loans(runtime, "12月1日", books) == 0  # the job ran twice: no repeat
    inbox = await env.client.get(
        "/api/v1/notifications", headers=env.auth(son, **{"Accept-Language": "en"})
    )
    (message,) = inbox.json()["items"]
    assert message["title"] == "Books due soon"
    assert message["body"] == "2 of your books are due on 12月1日."
    assert message["link"] == "/api/v1/library/loans"
    mine = await Notification.get(recipient_id=ids[0])
    # Its keys and templates are its own: another program's cannot collide with them.
    assert mine.template == "city_library.loan_due"
    assert mine.idempotency_key == f"city_library:loan_due:12月1日:{ids[0]}"
    with pytest.raises(LookupError, match="no notification template 'digest'"):
        await runtime.notify_many([], "service_status", "digest", {})
