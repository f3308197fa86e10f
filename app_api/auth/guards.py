"""Default-deny access control: each route declares a typed rule in ``opt["access"]``.

The rules and their factories are in :mod:`miniprograms.access`:

- ``public()``: no token needed;
- ``signed_in(aal=1)``: any account with a valid session, at that assurance level;
- ``resident(scope=None, aal=1)``: residents only; with ``scope`` the route serves a
  resident's data, and a relative may call it with ``X-Act-As`` when that resident granted
  the scope (亲情代办);
- ``operator(*roles)``: an active operator at assurance level 2 holding one of ``roles``.

A route without a rule is never served: :mod:`app_api.access` refuses to start an app
with one (or with a misspelt key, an unknown role or scope), and this guard refuses it too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app_api.addresses import client_address, trusted_networks
from app_api.auth import sessions
from app_api.auth.sessions import Principal
from app_api.errors import Problem
from app_api.identity.models import Delegation, Operator
from app_api.services import Services
from miniprograms.access import ACCESS, Access

ACT_AS_HEADER = "x-act-as"


def services_of(connection: ASGIConnection) -> Services:
    return connection.app.state.services


def client_ip(connection: ASGIConnection) -> str:
    """The caller's address (see :mod:`app_api.addresses`), decided once per request."""
    decided = connection.scope.get("superapp.client_ip")
    if decided is None:
        decided = client_address(
            connection.client.host if connection.client else None,
            connection.headers.getall("x-forwarded-for", []),
            trusted_networks(services_of(connection).settings.trusted_proxies),
        )
        connection.scope["superapp.client_ip"] = decided  # type: ignore[typeddict-unknown-key]
    return decided


async def require_access(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard. Sets ``state.principal`` and ``state.subject_id``."""
    rule = handler.opt.get(ACCESS)
    if not isinstance(rule, Access):
        # Start-up refuses such a route (app_api.access); should one slip past, deny.
        raise Problem("forbidden")
    if rule.public:
        return
    services = services_of(connection)
    auth = connection.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem("not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    principal = await sessions.authenticate(services, token.strip())
    if principal is None:
        raise Problem("token_invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    connection.state.principal = principal

    if rule.kind is not None and principal.kind != rule.kind:
        raise Problem("forbidden")
    held: list[str] = []
    if rule.kind == "operator":
        # The session may outlive the operator's account: look the operator up each time.
        operator = await Operator.get_or_none(id=principal.account_id, active=True)
        if operator is None:
            raise Problem("token_invalid")
        held = operator.roles
    # Operator rules say aal=2 (start-up refuses less), so this is the operators' step-up too.
    if rule.aal > principal.aal:
        raise Problem("mfa_required")
    if rule.roles and not rule.roles & set(held):
        raise Problem("forbidden")

    connection.state.subject_id = await _subject(connection, principal, rule.scope)


async def _subject(connection: ASGIConnection, principal: Principal, scope: str | None) -> str:
    """Whose data this request is about: the caller, or a resident who delegated ``scope``."""
    act_as = connection.headers.get(ACT_AS_HEADER)
    if not act_as or act_as == principal.account_id:
        return principal.account_id
    if principal.kind != "resident" or scope is None:
        raise Problem("delegation_denied")
    try:
        grantor = uuid.UUID(act_as)
    except ValueError:
        raise Problem("delegation_denied") from None
    now = datetime.now(UTC)
    grants = await Delegation.filter(
        grantor_id=grantor,
        grantee_id=principal.account_id,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    if not any(scope in grant.scopes for grant in grants):
        raise Problem("delegation_denied")
    return str(grantor)
