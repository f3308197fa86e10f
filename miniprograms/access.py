"""Who may call a route: a typed rule every route declares in its ``opt``.

A route says ``opt={"access": resident(scope="view_housing_fund"), "problems": (...)}``.
Access is default-deny: app_api refuses to start when any route lacks a rule, carries an
``opt`` key other than ``access`` and ``problems``, names a role or a delegation scope
nobody declared, or asks for an assurance level the rule cannot have (see
:mod:`app_api.access`); the guard (:mod:`app_api.auth.guards`) reads nothing but the rule.

Build rules with the factories rather than :class:`Access` itself; each states one kind
of caller:

- :func:`public`: anyone, no token (login, health probes, the OpenAPI document);
- :func:`signed_in`: any account with a valid session, resident or operator (``/me``,
  logout, the second factor);
- :func:`resident`: residents only; with ``scope``, the route serves a resident's data and
  a relative holding that delegated scope may call it with ``X-Act-As`` (亲情代办);
- :func:`operator`: active operators past the second factor, holding one of ``roles``.

This module imports nothing from app_api: mini-programs declare their rules with it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

ACCESS = "access"
PROBLEMS = "problems"

Kind = Literal["resident", "operator"]
# Assurance level of a session: 1 after the SMS code, 2 after the second factor (TOTP).
Assurance = Literal[1, 2]


class Access(msgspec.Struct, frozen=True, kw_only=True):
    """One route's access rule. Prefer the factories below, which only build valid rules.

    ``kind`` None means any kind of account; ``roles`` (operators only) means "one of";
    ``scope`` (residents only) names the delegation scope a relative must hold.
    """

    public: bool = False
    kind: Kind | None = None
    roles: frozenset[str] = frozenset()
    aal: Assurance = 1
    scope: str | None = None


def public() -> Access:
    """Anyone may call the route, without a token."""
    return Access(public=True)


def signed_in(*, aal: Assurance = 1) -> Access:
    """Any signed-in account, resident or operator, at assurance ``aal`` or above."""
    return Access(aal=aal)


def resident(scope: str | None = None, *, aal: Assurance = 1) -> Access:
    """Residents only. ``scope``: a relative holding it may act for the resident."""
    return Access(kind="resident", scope=scope, aal=aal)


def operator(*roles: str) -> Access:
    """Active operators holding one of ``roles`` (any operator when none is named).

    Operators always pass the second factor first, so the rule says ``aal=2`` itself
    instead of taking it as an argument that could only be wrong.
    """
    return Access(kind="operator", roles=frozenset(roles), aal=2)
