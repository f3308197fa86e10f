"""A newcomer's mini-program (tests/newcomer_parking), written from the README alone, installed
through a real entry point as tests/test_contract.py installs tests/city_library; then the
contract is probed with a newcomer's mistakes and an attacker's tries.

Each probe that found a hole (tests/newcomer_parking/variants.py holds the broken and
hostile versions) failed before the contract was fixed and now guards the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app_api import errors, settings
from app_api.app import create_app
from app_api.miniprogram import installed
from miniprograms.contract import MiniProgram
from tests.asgi import serve_asgi
from tests.conftest import Env, Sandbox, make_settings

WANG = "321302198201150138"  # 王小明: two permits in the parking sandbox
ZHAO = "321322194604040248"  # 赵桂兰: no permit
PROGRAM_ENTRY = "newcomer_parking = tests.newcomer_parking:PROGRAM"


def _clear_caches() -> None:
    installed.cache_clear()
    errors.registry.cache_clear()


@contextlib.contextmanager
def entry_points_on_path(site: Path, *lines: str) -> Iterator[None]:
    """A dist-info naming ``lines`` in the superapp.miniprograms group, on sys.path."""
    info = site / "newcomer_parking-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: newcomer-parking\nVersion: 0.0.1\n"
    )
    (info / "entry_points.txt").write_text("[superapp.miniprograms]\n" + "\n".join(lines) + "\n")
    sys.path.insert(0, str(site))
    _clear_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        _clear_caches()


@pytest.fixture
def entries() -> tuple[str, ...]:
    """What the test installs; override (parametrize) to install a variant next to it."""
    return (PROGRAM_ENTRY,)


@pytest.fixture(autouse=True)
def parking(tmp_path_factory: pytest.TempPathFactory, entries: tuple[str, ...]) -> Iterator[None]:
    with entry_points_on_path(tmp_path_factory.mktemp("site"), *entries):
        yield


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    programs = settings.load({"SUPERAPP_NEWCOMER_PARKING_OFFICE": "宿城区停车办"}).programs
    return {"otp_resend_interval_s": 0, "programs": programs}


@pytest.fixture
async def working(
    database_url: str, redis_url: str, sandbox: Sandbox, settings_overrides: dict[str, Any]
) -> AsyncIterator[Env]:
    cfg = make_settings(database_url, redis_url, sandbox.url, **settings_overrides)
    app = create_app(cfg, start_worker=True)
    async with serve_asgi(app) as client:
        yield Env(client=client, app=app, sandbox=sandbox, settings=cfg)


def bare_settings() -> settings.Settings:
    return make_settings("sqlite://:memory:", "fakeredis://newcomer", "http://127.0.0.1:9")


def program(slug: str = "newcomer_parking") -> MiniProgram:
    return next(p for p in installed() if p.slug == slug)


# -- the program works ----------------------------------------------------------------------


async def test_permits_are_served_from_its_own_upstream(env: Env) -> None:
    tokens = await env.verified("13800000005", WANG)
    resp = await env.client.get("/api/v1/parking/permits", headers=env.auth(tokens))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["permits"]) == 2 and body["reminder_days"] == 7
    assert body["permits"][0]["valid_until"]["display"].endswith("日")


async def test_its_card_is_on_the_home_screen(env: Env) -> None:
    tokens = await env.verified("13800000005", WANG)
    home = await env.client.get("/api/v1/home", headers=env.auth(tokens))
    cards = {card["id"]: card for card in home.json()["cards"]}
    assert cards["newcomer_parking"]["title"] == "停车"
    assert cards["newcomer_parking"]["summary"].startswith("停车证2张")


async def test_its_job_runs_with_its_settings(working: Env) -> None:
    runtime = working.app.state.services.runtimes["newcomer_parking"]
    await runtime.enqueue("remind_expiring", note="manual")
    for _ in range(100):
        if await runtime.store.get("newcomer_parking:last_sweep"):
            break
        await asyncio.sleep(0.05)
    assert await runtime.store.get("newcomer_parking:last_sweep") == "manual:7"
    worker = working.app.state.jobs.worker()
    assert "newcomer_parking.remind_expiring" in worker.functions


@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        ("zh-CN", "没有停车证", "您还没有停车证，请到宿城区停车办申请。"),
        ("en", "No parking permit", "You have no parking permit. Apply at 宿城区停车办."),
    ],
)
async def test_its_problem_is_told_with_its_setting(
    env: Env, language: str, title: str, detail: str
) -> None:
    tokens = await env.verified("13800000007", ZHAO)
    resp = await env.client.get(
        "/api/v1/parking/permits", headers=env.auth(tokens, **{"Accept-Language": language})
    )
    assert resp.status_code == 404
    assert (resp.json()["code"], resp.json()["title"], resp.json()["detail"]) == (
        "parking_permit_missing",
        title,
        detail,
    )


def test_its_settings_join_the_production_checks() -> None:
    with pytest.raises(settings.SettingsError, match="SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS"):
        settings.load(
            {"SUPERAPP_ENV": "production", "SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS": "0"}
        )
    loaded = settings.load({"SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS": "3"})
    assert loaded.programs["newcomer_parking"].reminder_days == 3


# -- start-up: a newcomer's mistakes ----------------------------------------------------------


def variant(name: str, *, with_library: bool = False) -> tuple[str, ...]:
    """Entry points installing the parking variant ``name`` (and the city library)."""
    line = f"newcomer_parking = tests.newcomer_parking.variants:{name}"
    library = ("city_library = tests.city_library:PROGRAM",) if with_library else ()
    return (line, *library)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (variant("NO_RULE"), "GET /api/v1/parking/no-rule .*no access rule"),
        (variant("TYPO"), r"unknown opt keys \['acess'\]"),
        (variant("UNDECLARED_SCOPE"), "scope 'view_parking_permit' is not one of its own"),
        (variant("PUBLIC_SUBJECT"), r"public route cannot take \['subject'\]"),
    ],
)
def test_route_rule_mistakes_stop_the_start(message: str) -> None:
    from app_api.access import AccessRuleError
    from app_api.declarations import DeclarationError

    with pytest.raises((AccessRuleError, DeclarationError), match=message):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize("entries", [variant("UNKNOWN_PROBLEM")])
def test_a_route_naming_an_undeclared_problem_stops_the_start() -> None:
    with pytest.raises(Exception, match="parking_zone_full"):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("subject", "would shadow"),
        ("audit", "would shadow"),
        ("request", "would shadow"),
        ("services", "would shadow"),
        ("runtime", "would shadow"),
    ],
)
def test_a_dependency_named_like_a_core_one_stops_the_start(name: str, message: str) -> None:
    from app_api import mounting
    from app_api.declarations import DeclarationError

    with pytest.raises(DeclarationError, match=message):
        mounting.prepare([dataclasses.replace(program(), dependencies={name: lambda: None})])


@pytest.mark.parametrize("entries", [variant("SHADOW_IN_ROUTER")])
def test_shadowing_subject_through_its_own_router_stops_the_start() -> None:
    # Otherwise the handler would be handed someone else's Subject.
    from app_api.declarations import DeclarationError

    with pytest.raises(DeclarationError, match=r"dependencies \['subject'\] .* would shadow"):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize(
    ("entries", "change", "message"),
    [
        (variant("ATTACKER"), {"problems": {"not_found": (404, "a", "b")}}, "app_api"),
        (variant("ATTACKER"), {"problems": {"upstream_refused": (409, "a", "b")}}, "common"),
        (
            variant("ATTACKER", with_library=True),
            {"problems": {"library_card_missing": (404, "a", "b")}},
            "mini-program 'city_library'",
        ),
        (
            variant("ATTACKER", with_library=True),
            {"scopes": {"view_library_loans": "x"}},
            "already mini-program 'city_library'",
        ),
        (variant("ATTACKER"), {"jobs": ()}, "not among its jobs"),
        (variant("ATTACKER"), {"slug": "otp"}, "SUPERAPP_OTP_TTL_S"),
        (variant("ATTACKER", with_library=True), {"slug": "city"}, "SUPERAPP_CITY_LIBRARY_"),
    ],
)
def test_declaration_clashes_stop_the_start(change: dict[str, Any], message: str) -> None:
    from app_api import mounting
    from app_api.declarations import DeclarationError

    mine = program()
    others = [p for p in installed() if p is not mine]
    with pytest.raises(DeclarationError, match=message):
        mounting.prepare([*others, dataclasses.replace(mine, **change)])


@pytest.mark.parametrize("entries", [variant("ROUTER_INSTANCE")])
def test_a_router_instead_of_a_factory_is_named_at_start() -> None:
    with pytest.raises(Exception, match="newcomer_parking"):
        create_app(bare_settings(), start_worker=False)


def test_a_malformed_problem_names_the_program() -> None:
    from app_api import mounting

    with pytest.raises(Exception, match="newcomer_parking"):
        mounting.prepare([dataclasses.replace(program(), problems={"parking_x": (404, "t")})])


def test_a_problem_code_that_is_not_snake_case_stops_the_start() -> None:
    from app_api import mounting
    from app_api.declarations import DeclarationError

    with pytest.raises(DeclarationError):
        mounting.prepare([dataclasses.replace(program(), problems={"Parking X!": (404, "a", "b")})])


@pytest.mark.parametrize(
    "entries", [variant("TWO_UPSTREAMS"), variant("AS_POPULATION"), variant("DASHED_TWIN")]
)
def test_an_upstream_clash_stops_create_app() -> None:
    # Today create_app builds; the clash surfaces only when the lifespan builds the
    # clients (ValueError) or, for 'city-parking' next to 'city_parking', only in the
    # sandbox (aiohttp: "Added route will never be executed").
    with pytest.raises(Exception, match=r"city_parking|city-parking|population"):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize("entries", [variant("TWO_UPSTREAMS"), variant("AS_POPULATION")])
def test_an_upstream_clash_stops_the_lifespan_naming_both_owners() -> None:
    from app_api.declarations import DeclarationError
    from app_api.miniprogram import upstreams

    with pytest.raises(DeclarationError, match=r"brought twice: by .* and by mini-program"):
        upstreams()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (variant("BAD_SANDBOX_MODULE"), "No module named 'tests.newcomer_parking.sandbx'"),
        (variant("BAD_SANDBOX_ATTR"), "has no attribute 'route'"),
    ],
)
def test_a_sandbox_path_that_does_not_import_fails_only_in_the_sandbox(message: str) -> None:
    from app_api.miniprogram import upstreams
    from integrations.sandbox import SandboxConfig, create_sandbox

    create_app(bare_settings(), start_worker=False)  # the API itself starts (fine: production)
    with pytest.raises((ImportError, AttributeError), match=message) as refused:
        create_sandbox(SandboxConfig(app_secrets={}, upstreams=upstreams()))
    # It names the upstream and the path a developer must fix, not only the import's error.
    assert "upstream 'city_parking': sandbox='tests.newcomer_parking.sand" in str(refused.value)


@pytest.mark.parametrize("entries", [variant("ROOT_ROUTER")])
def test_a_route_on_a_core_path_stops_the_start() -> None:
    with pytest.raises(Exception, match="already registered for path '/api/v1/home'"):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize("entries", [variant("CORE_SLUG")])
def test_slug_core_is_refused() -> None:
    from app_api.db import tortoise_config
    from app_api.declarations import DeclarationError

    with pytest.raises(DeclarationError, match="app_api's own"):
        create_app(bare_settings(), start_worker=False)
    with pytest.raises(DeclarationError, match="app_api's own"):
        tortoise_config("sqlite://:memory:")


def test_wrong_type_in_env_is_refused_naming_the_program() -> None:
    with pytest.raises(settings.SettingsError, match="newcomer_parking") as refused:
        settings.load({"SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS": "a week"})
    # It names the variable an operator must fix.
    assert "SUPERAPP_NEWCOMER_PARKING_REMINDER_DAYS" in str(refused.value)


@pytest.mark.parametrize("entries", [variant("MISSPELT_CHECK")])
def test_a_misspelt_production_check_is_noticed() -> None:
    from app_api import mounting
    from app_api.declarations import DeclarationError

    with pytest.raises(
        DeclarationError, match=r"only production_problems\(\), not \['production_problem'\]"
    ):
        mounting.prepare(installed())


# -- jobs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entries", [variant("BAD_CRON")])
def test_a_cron_no_scheduler_can_read_stops_the_start() -> None:
    # Today: the API starts; the worker dies with "Cron is invalid every morning" (no program).
    with pytest.raises(Exception, match="newcomer_parking"):
        create_app(bare_settings(), start_worker=False)


@pytest.mark.parametrize("entries", [variant("SYNC_JOB")])
def test_a_job_that_is_not_async_stops_the_start() -> None:
    from app_api import mounting
    from app_api.declarations import DeclarationError

    with pytest.raises(DeclarationError):
        mounting.prepare(installed())
