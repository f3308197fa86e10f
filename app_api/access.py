"""Every route's access rule is checked when the route is mounted, so a mistake stops start-up.

Routes declare who may call them with a typed rule (:mod:`miniprograms.access`) in
``opt={"access": ..., "problems": (...)}``. A rule that is missing, misspelt or names
something nobody declared would otherwise surface as a route anyone signed in can call,
or one nobody can. :class:`AccessRules` refuses, naming the route, when a handler has:

- no rule, or something other than an :class:`~miniprograms.access.Access` under ``access``;
- an ``opt`` key besides ``access`` and ``problems`` (Litestar puts extra keyword
  arguments of a route decorator into ``opt`` too, so ``@get(..., role=...)`` lands here);
- a role that is not an operator role (:data:`app_api.identity.models.ROLES`);
- a delegation scope that is neither a core scope nor one an installed mini-program
  declares, or a scope on a route that is not for residents;
- an assurance level other than 1 or 2, or below 2 for operators;
- a public rule that also names a kind, roles, scope or level, or whose handler takes a
  dependency only a signed-in caller has (:data:`SIGNED_IN_ONLY`: ``subject``, ``audit``...);
- ``problems`` that are not a tuple of problem codes (the OpenAPI document reads them).

Litestar adds an ``OPTIONS`` handler to every path that has none; it gets
:func:`~miniprograms.access.signed_in` unless its router or controller gives a rule (the
OpenAPI document's and ``/metrics``' are public), as before rules were typed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from litestar.handlers.base import BaseRouteHandler
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute

from app_api.delegation.scopes import grantable
from app_api.identity.models import ROLES
from miniprograms.access import ACCESS, PROBLEMS, Access, signed_in

ALLOWED_KEYS = frozenset({ACCESS, PROBLEMS})
# Dependencies (app_api/deps.py) read the caller the guard found: on a public route there is
# none, so a handler taking one would answer every request with a 500.
SIGNED_IN_ONLY = frozenset({"subject", "subject_id", "principal", "audit"})


class AccessRuleError(RuntimeError):
    """A route's access declaration is wrong; the message names the route and the fix."""


def handlers_of(route: BaseRoute) -> list[BaseRouteHandler]:
    """The handlers a route dispatches to (several for HTTP, one for WebSocket and ASGI)."""
    many = getattr(route, "route_handlers", None)
    return list(many) if many is not None else [route.route_handler]  # type: ignore[attr-defined]


def rule_of(handler: BaseRouteHandler) -> Access:
    """``handler``'s access rule (checked at start-up, so present for a mounted route)."""
    rule = handler.opt.get(ACCESS)
    if not isinstance(rule, Access):
        raise AccessRuleError(f"{_name(handler)} has no access rule")
    return rule


def mistakes(
    handler: BaseRouteHandler, *, roles: Iterable[str], scopes: Iterable[str]
) -> list[str]:
    """What is wrong with ``handler``'s access declaration; empty when nothing is."""
    opt = handler.opt
    found: list[str] = []
    unknown = sorted(set(opt) - ALLOWED_KEYS)
    if unknown:
        found.append(f"unknown opt keys {unknown} (only {sorted(ALLOWED_KEYS)} are read)")
    problems = opt.get(PROBLEMS, ())
    if not isinstance(problems, tuple) or not all(isinstance(code, str) for code in problems):
        found.append(f"opt['problems'] must be a tuple of problem codes, not {problems!r}")
    rule = opt.get(ACCESS)
    if rule is None:
        found.append(
            'no access rule: declare opt={"access": ...} with public(), signed_in(), '
            "resident(...) or operator(...) from miniprograms.access"
        )
        return found
    if not isinstance(rule, Access):
        found.append(f"opt['access'] is a {type(rule).__name__}, not miniprograms.access.Access")
        return found
    found += _rule_mistakes(rule, frozenset(roles), frozenset(scopes))
    if rule.public:
        needs_caller = sorted(SIGNED_IN_ONLY & _parameters(handler))
        if needs_caller:
            found.append(
                f"a public route cannot take {needs_caller}: they need a signed-in caller "
                "(use signed_in(), resident(...) or operator(...))"
            )
    return found


def _parameters(handler: BaseRouteHandler) -> set[str]:
    """The names ``handler``'s function takes (the ones Litestar would inject)."""
    try:
        return set(inspect.signature(handler.fn).parameters)
    except (TypeError, ValueError):  # a callable without a readable signature
        return set()


def _rule_mistakes(rule: Access, roles: frozenset[str], scopes: frozenset[str]) -> list[str]:
    found: list[str] = []
    if rule.kind not in (None, "resident", "operator"):
        found.append(f"unknown account kind {rule.kind!r}")
    if rule.aal not in (1, 2):
        found.append(f"assurance level {rule.aal!r} is neither 1 nor 2")
    if rule.public and (rule.kind or rule.roles or rule.scope or rule.aal != 1):
        found.append("a public rule cannot also ask for a kind, roles, a scope or a level")
    if isinstance(rule.roles, str):  # Access(roles="auditor") would read as five roles
        found.append(f"roles must be a collection of role names, not the string {rule.roles!r}")
    else:
        if rule.roles and rule.kind != "operator":
            found.append("roles are for operator rules only: use operator(...)")
        unknown_roles = sorted(set(rule.roles) - roles)
        if unknown_roles:
            found.append(f"unknown roles {unknown_roles} (operator roles: {sorted(roles)})")
    if rule.kind == "operator" and rule.aal != 2:
        found.append("operators always pass the second factor: an operator rule has aal=2")
    if rule.scope is not None:
        if rule.kind != "resident":
            found.append(f"scope {rule.scope!r} on a route that is not for residents only")
        if rule.scope not in scopes:
            found.append(f"unknown delegation scope {rule.scope!r} (known: {sorted(scopes)})")
    return found


def _name(handler: BaseRouteHandler, path: str | None = None) -> str:
    """``GET /api/v1/home (app_api.home.home)``: what a developer greps for."""
    fn: Any = handler.fn
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', handler.handler_name)}"
    methods = " ".join(sorted(getattr(handler, "http_methods", ()) or ())) or "route"
    return f"{methods} {path or ', '.join(sorted(handler.paths))} ({where})"


def _is_litestar_options(handler: BaseRouteHandler) -> bool:
    """The ``OPTIONS`` handler Litestar adds to a path that declares none."""
    methods = getattr(handler, "http_methods", None)
    return methods == {"OPTIONS"} and handler.fn.__name__ == "options_handler"


def check_route(route: BaseRoute, *, roles: Iterable[str], scopes: Iterable[str]) -> None:
    """Raise :class:`AccessRuleError` naming ``route`` when a handler's declaration is wrong."""
    roles, scopes = frozenset(roles), frozenset(scopes)
    for handler in handlers_of(route):
        found = mistakes(handler, roles=roles, scopes=scopes)
        if found:
            raise AccessRuleError(
                f"{_name(handler, route.path)}: "
                + "; ".join(found)
                + " (see miniprograms/access.py)"
            )


class AccessRules(ReceiveRoutePlugin):
    """Checks each route's access declaration as it is mounted: a bad one stops start-up.

    Listed before the OpenAPI plugins, which read the rules to document each route.
    """

    def receive_route(self, route: BaseRoute) -> None:
        for handler in handlers_of(route):
            if ACCESS not in handler.opt and _is_litestar_options(handler):
                handler.opt[ACCESS] = signed_in()  # what every route without "public" had
        check_route(route, roles=ROLES, scopes=grantable())
