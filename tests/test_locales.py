"""Locale negotiation and catalog completeness in zh-Hans, zh-Hant and en."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import locales
from tests.conftest import Env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh_Hans"),
        ("", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh_TW", "zh_Hant"),
        ("en-US,en;q=0.8", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr-FR, de", "zh_Hans"),
        ("en;q=0.2, zh-TW;q=0.9", "zh_Hant"),
        ("en;q=0, zh-HK", "zh_Hant"),
        ("*", "zh_Hans"),
        ("garbage;;q=abc", "zh_Hans"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert locales.negotiate(header) == expected


def test_every_msgid_is_translated_in_every_locale() -> None:
    template = read_po((ROOT / "locales/messages.pot").open("rb"))
    ids = {m.id for m in template if m.id}
    assert ids
    for locale in locales.SUPPORTED:
        catalog = read_po(
            (ROOT / f"locales/{locale}/LC_MESSAGES/messages.po").open("rb"), locale=locale
        )
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert ids - translated == set(), f"{locale} lacks translations"


def test_the_template_holds_every_string_in_the_code(tmp_path: Path) -> None:
    out = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "locales/babel.cfg",
            "-k",
            "N_",
            "-k",
            "gettext",
            "-o",
            str(out),
            "app_api",
            "miniprograms",
            "accessibility",
            "notifications",
            "integrations",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = {m.id for m in read_po(out.open("rb")) if m.id}
    committed = {m.id for m in read_po((ROOT / "locales/messages.pot").open("rb")) if m.id}
    assert fresh - committed == set(), "run `make i18n` and translate the new strings"


def test_placeholders_survive_translation() -> None:
    for locale in locales.SUPPORTED:
        with locales.use(locale):
            text = locales.gettext(
                "A code was sent a moment ago. You can ask again in {seconds} seconds.", seconds=42
            )
        assert "42" in text and "{" not in text


async def test_problems_follow_accept_language(env: Env) -> None:
    expectations = {"zh-CN": "请先登录", "zh-TW": "請先登入", "en-GB": "Please sign in"}
    for header, title in expectations.items():
        resp = await env.client.get("/api/v1/me", headers={"Accept-Language": header})
        assert resp.json()["title"] == title
        assert resp.headers["content-language"] == locales.TAGS[locales.negotiate(header)]
