"""Gettext catalogs and locale negotiation shared by every room.

Catalogs are the ``.po`` files beside this module (msgids are English). They are
compiled in memory on first use, so a fresh checkout needs no build step; ``make i18n``
extracts, updates and compiles them for translators.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
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


# Catalog folders that mini-programs bring in their own folder (same layout as this one),
# in the order they were added.
_EXTRA_DIRS: list[Path] = []
PO_NAME = f"{DOMAIN}.po"
# A msgid, or a (singular, plural) pair; its translation is a string or one per plural form.
MsgId = str | tuple[str, ...]
Parsed = tuple[frozenset[MsgId], dict[MsgId, str | tuple[str, ...]]]


class CatalogError(ValueError):
    """A mini-program's catalog folder is incomplete, or would change words already given."""


def _po(directory: Path, locale: str) -> Path:
    return directory / locale / "LC_MESSAGES" / PO_NAME


@cache
def _parsed(po_path: Path, locale: str | None, mtime_ns: int) -> Parsed:
    """Every msgid of one ``.po``/``.pot`` file and the translations it gives (fuzzy or
    empty ones are not translations: gettext would show the msgid). Keyed by the file's
    modification time so an edited file is read again."""
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    ids: set[MsgId] = set()
    given: dict[MsgId, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        ids.add(message.id)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings) and not message.fuzzy:
            given[message.id] = message.string
    return frozenset(ids), given


def _read(po_path: Path, locale: str | None) -> Parsed:
    return _parsed(po_path, locale, po_path.stat().st_mtime_ns)


def _shown(items: Iterable[object], limit: int = 5) -> str:
    listed = sorted(items, key=str)
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(repr(item) for item in listed[:limit]) + more


def check_catalogs(directory: Path) -> list[str]:
    """What is wrong with the catalog folder ``directory`` a mini-program brings; empty
    when nothing is.

    The folder must hold ``<locale>/LC_MESSAGES/messages.po`` for every supported locale,
    translate in each of them every msgid any of them (or a ``messages.pot`` beside them)
    names, and never translate a msgid that the core catalog or a folder added earlier
    already translates differently: a program adds words, it never changes anyone's.
    """
    directory = Path(directory).resolve()
    found: list[str] = []
    present = [locale for locale in SUPPORTED if _po(directory, locale).is_file()]
    for locale in SUPPORTED:
        if locale not in present:
            found.append(f"no {locale} catalog ({locale}/LC_MESSAGES/{PO_NAME})")
    template = directory / f"{DOMAIN}.pot"
    ids: set[MsgId] = set(_read(template, None)[0]) if template.is_file() else set()
    given = {locale: _read(_po(directory, locale), locale)[1] for locale in present}
    for locale in present:
        ids |= _read(_po(directory, locale), locale)[0]
    for locale in present:
        untranslated = ids - given[locale].keys()
        if untranslated:
            found.append(f"{locale} does not translate {_shown(untranslated)}")
    earlier = [(CATALOG_DIR, "the core catalog")] + [
        (other, f"the catalogs in {other}") for other in _EXTRA_DIRS if other != directory
    ]
    for locale in present:
        for other, owner in earlier:
            if not _po(other, locale).is_file():
                continue
            theirs = _read(_po(other, locale), locale)[1]
            changed = {
                msgid
                for msgid, text in given[locale].items()
                if msgid in theirs and theirs[msgid] != text
            }
            if changed:
                found.append(
                    f"{locale} translates {_shown(changed)} otherwise than {owner} "
                    "(use a msgid of your own)"
                )
    return found


def add_catalogs(directory: Path) -> None:
    """Also look up msgids in the catalogs under ``directory`` (``<locale>/LC_MESSAGES/
    messages.po``), once :func:`check_catalogs` finds nothing wrong with them.

    Raises :class:`CatalogError` naming the folder and every problem otherwise: a folder
    missing a locale would show its words in English to that locale's readers, and one
    giving a known msgid other words would change what another program (or the core) says.
    """
    directory = Path(directory).resolve()
    if directory in _EXTRA_DIRS:
        return
    problems = check_catalogs(directory)
    if problems:
        raise CatalogError(f"catalogs in {directory} refused: " + "; ".join(problems))
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
    # Merged so that what was there first wins: the core catalog over every program's,
    # and a program's over those added after it (add_catalogs refuses a clash anyway).
    found = [_po(directory, locale) for directory in (*reversed(_EXTRA_DIRS), CATALOG_DIR)]
    merged = None
    for po_path in found:
        if not po_path.exists():
            continue
        compiled = _compile(po_path, locale)
        if merged is None:
            merged = compiled
        else:
            merged.merge(compiled)  # the later (earlier-added, the core last) override
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
