"""Message templates: msgids rendered per recipient, in their language, plainer in elderly mode.

A sender names a template by key (``"<slug>.<name>"`` for a mini-program's, declared in its
``MiniProgram(templates=...)``) and gives its parameters; the words are looked up in the
catalogs when the message is shown or sent, in the recipient's language, so one notification
reads right in zh-Hans, zh-Hant and English alike.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from locales import gettext, use


class Template(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of message. Every text is a msgid; bodies may use ``{placeholders}``."""

    title: str
    body: str
    # Elderly mode: shorter and plainer, no link that needs typing; defaults to the above.
    elderly_title: str | None = None
    elderly_body: str | None = None
    # The SMS gateway only sends templates registered with it: that template's id. A template
    # without one is not sent by SMS (push and inbox only).
    sms_template: str | None = None


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    body: str


def render(
    template: Template, params: Mapping[str, object], *, locale: str, elderly: bool
) -> Rendered:
    """The template's words for one recipient."""
    title = (template.elderly_title if elderly else None) or template.title
    body = (template.elderly_body if elderly else None) or template.body
    with use(locale):
        return Rendered(title=gettext(title, **params), body=gettext(body, **params))


def sms_params(params: Mapping[str, object]) -> dict[str, str]:
    """Parameters as the SMS gateway takes them: strings only."""
    return {key: str(value) for key, value in params.items()}
