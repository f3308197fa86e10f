"""Locale negotiation and catalog completeness in zh-Hans, zh-Hant and en."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
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
    # The rule a mini-program's own catalog folder is held to holds for the core's too.
    assert locales.check_catalogs(locales.CATALOG_DIR) == []


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


# -- catalogs a mini-program brings -----------------------------------------------------------

OWN = {
    "zh_Hans": {"Bicycle parking": "自行车停放"},
    "zh_Hant": {"Bicycle parking": "自行車停放"},
    "en": {"Bicycle parking": "Bicycle parking"},
}


def _write(folder: Path, catalogs: dict[str, dict[str, str]], *, fuzzy: str = "") -> Path:
    """``folder/<locale>/LC_MESSAGES/messages.po`` holding ``catalogs[locale]``."""
    for locale, entries in catalogs.items():
        po = folder / locale / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
        for msgid, text in entries.items():
            lines += ["#, fuzzy"] if msgid == fuzzy else []
            lines += [f'msgid "{msgid}"', f'msgstr "{text}"', ""]
        po.write_text("\n".join(lines), encoding="utf-8")
    return folder


@pytest.fixture
def restored() -> Iterator[None]:
    """The catalog list is process-wide: forget what a test added."""
    before = list(locales._EXTRA_DIRS)
    yield
    locales._EXTRA_DIRS[:] = before
    locales.translations.cache_clear()


@pytest.mark.usefixtures("restored")
def test_a_complete_folder_adds_its_words_in_every_locale(tmp_path: Path) -> None:
    # Repeating a core msgid with the core's own words is no change, so it is allowed.
    same = {locale: {**OWN[locale]} for locale in locales.SUPPORTED}
    same["zh_Hans"]["Wrong code"] = "验证码错误"
    same["zh_Hant"]["Wrong code"] = "驗證碼錯誤"
    same["en"]["Wrong code"] = "Wrong code"
    folder = _write(tmp_path / "own", same)
    assert locales.check_catalogs(folder) == []
    locales.add_catalogs(folder)
    for locale in locales.SUPPORTED:
        with locales.use(locale):
            assert locales.gettext("Bicycle parking") == OWN[locale]["Bicycle parking"]


@pytest.mark.parametrize(
    ("catalogs", "fuzzy", "problem"),
    [
        ({k: v for k, v in OWN.items() if k != "zh_Hant"}, "", "no zh_Hant catalog"),
        ({**OWN, "en": {"Bicycle parking": ""}}, "", "en does not translate 'Bicycle parking'"),
        (OWN, "Bicycle parking", "does not translate 'Bicycle parking'"),
        (
            {**OWN, "zh_Hans": {**OWN["zh_Hans"], "Scooter": "滑板车"}},
            "",
            "zh_Hant does not translate 'Scooter'",
        ),
        (
            {**OWN, "zh_Hans": {**OWN["zh_Hans"], "Wrong code": "密码错误"}},
            "",
            "zh_Hans translates 'Wrong code' otherwise than the core catalog",
        ),
    ],
)
@pytest.mark.usefixtures("restored")
def test_an_incomplete_or_rewording_folder_is_refused_naming_it(
    tmp_path: Path, catalogs: dict[str, dict[str, str]], fuzzy: str, problem: str
) -> None:
    folder = _write(tmp_path / "theirs", catalogs, fuzzy=fuzzy)
    assert any(problem in found for found in locales.check_catalogs(folder))
    with pytest.raises(locales.CatalogError, match=re.escape(str(folder))) as refused:
        locales.add_catalogs(folder)
    assert problem in str(refused.value)
    with locales.use("zh_Hans"):
        assert locales.gettext("Wrong code") == "验证码错误"


@pytest.mark.usefixtures("restored")
def test_a_template_names_msgids_every_locale_must_translate(tmp_path: Path) -> None:
    folder = _write(tmp_path / "own", OWN)
    (folder / "messages.pot").write_text('msgid "Bicycle parking"\nmsgstr ""\n\nmsgid "Scooter"\n')
    assert locales.check_catalogs(folder) == [
        f"{locale} does not translate 'Scooter'" for locale in locales.SUPPORTED
    ]


@pytest.mark.usefixtures("restored")
def test_a_later_folder_cannot_reword_an_earlier_ones_msgid(tmp_path: Path) -> None:
    first = _write(tmp_path / "first", OWN)
    locales.add_catalogs(first)
    second = _write(tmp_path / "second", {**OWN, "zh_Hans": {"Bicycle parking": "停车场已关闭"}})
    with pytest.raises(locales.CatalogError, match="second") as refused:
        locales.add_catalogs(second)
    assert f"otherwise than the catalogs in {first}" in str(refused.value)
    with locales.use("zh_Hans"):
        assert locales.gettext("Bicycle parking") == "自行车停放"
