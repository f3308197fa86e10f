"""Gettext catalogs and locale negotiation shared by every room.

Catalogs are the ``.po`` files beside this module (msgids are English). They are
compiled in memory on first use, so a fresh checkout needs no build step; ``make i18n``
extracts, updates and compiles them for translators.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

CATALOG_DIR = Path(__file__).parent
DOMAIN = "messages"
SUPPORTED = ("zh_Hans", "zh_Hant", "en")
DEFAULT = "zh_Hans"
# BCP 47 spelling for Content-Language headers and API payloads.
TAGS = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}

# Parsed once: babel's formatters take about twice as long when given a locale name.
_BABEL = {
    name: Locale.parse(tag)
    for name, tag in {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "en": "en"}.items()
}
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")

_current: ContextVar[str] = ContextVar("superapp_locale", default=DEFAULT)


# Catalog folders that mini-programs bring in their own folder (same layout as this one).
_EXTRA_DIRS: list[Path] = []


def add_catalogs(directory: Path) -> None:
    """Also look up msgids in the catalogs under ``directory`` (``<locale>/LC_MESSAGES/
    messages.po``). Ours win over theirs: a program adds words, it never changes core ones."""
    if directory not in _EXTRA_DIRS:
        _EXTRA_DIRS.append(directory)
        translations.cache_clear()


def _compile(po_path: Path, locale: str) -> Translations:
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


@cache
def translations(locale: str) -> Translations:
    """Load one locale's catalog, compiled from its ``.po`` files in memory."""
    found = [
        directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        for directory in (*_EXTRA_DIRS, CATALOG_DIR)
    ]
    merged = None
    for po_path in found:
        if not po_path.exists():
            continue
        compiled = _compile(po_path, locale)
        if merged is None:
            merged = compiled
        else:
            merged.merge(compiled)  # the later (ours, last) override the earlier
    assert merged is not None, f"no catalog for {locale}"
    return merged


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported locale for an ``Accept-Language`` header.

    Chinese is resolved by script through CLDR likely subtags, so ``zh``, ``zh-CN``
    and ``zh-SG`` read as simplified and ``zh-TW``, ``zh-HK``, ``zh-MO`` as traditional.
    """
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        locale = _match(tag)
        if locale:
            return locale
    return DEFAULT


def _match(tag: str) -> str | None:
    if tag == "*":
        return DEFAULT
    try:
        parsed = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.language == "en":
        return "en"
    if parsed.language == "zh":
        return "zh_Hant" if parsed.script == "Hant" else "zh_Hans"
    return None


def current() -> str:
    """The locale of the request (or job) being served."""
    return _current.get()


@contextlib.contextmanager
def use(locale: str) -> Iterator[None]:
    """Run a block under another locale, e.g. to render a notification for its reader."""
    token = _current.set(locale if locale in SUPPORTED else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def set_current(locale: str) -> None:
    """Set the locale for the rest of this context (used by the locale middleware)."""
    _current.set(locale if locale in SUPPORTED else DEFAULT)


def gettext(msgid: str, **params: object) -> str:
    """Translate ``msgid`` into the current locale and fill ``{name}`` placeholders."""
    text = translations(current()).ugettext(msgid)
    return text.format(**params) if params else text


_ = gettext


def format_money(fen: int) -> str:
    """Integer fen as the current locale writes yuan: ``¥1,234.50`` (zh-Hans), ``CN¥1,234.50`` (en)."""
    return format_currency(Decimal(fen) / 100, "CNY", locale=_BABEL[current()])


def format_day(day: date) -> str:
    """A date as the current locale writes it: ``2026年11月1日``, ``Nov 1, 2026``."""
    return format_date(
        day, format="long" if current() != "en" else "medium", locale=_BABEL[current()]
    )


def format_moment(moment: datetime) -> str:
    """A moment in Asia/Shanghai time, as the current locale writes it."""
    return format_datetime(moment, format="medium", tzinfo=DISPLAY_TZ, locale=_BABEL[current()])


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it yet (registries, enums)."""
    return msgid
