"""RFC 9457 problem+json errors with stable codes and localized text.

Handlers raise :class:`Problem` with a code from :data:`PROBLEMS`; the title and detail
are looked up in the catalogs at response time, in the request's locale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from tortoise.exceptions import IntegrityError

from app_api.declarations import problem_table
from app_api.logs import mask_text
from app_api.miniprogram import installed
from app_api.problem_text import fill
from app_api.strict import BODY_LIMIT
from locales import N_, gettext
from miniprograms.contract import Problem, ProblemType

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("superapp.errors")

# code -> (HTTP status, title msgid, detail msgid). Details may use {placeholders}.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "validation_failed": (422, N_("Invalid request"), N_("Some fields are missing or not valid.")),
    "phone_invalid": (
        422,
        N_("Invalid phone number"),
        N_("Enter an 11-digit mainland mobile number."),
    ),
    "id_number_invalid": (
        422,
        N_("Invalid ID number"),
        N_("The resident ID number is not valid. Check the 18 characters and try again."),
    ),
    "credit_code_invalid": (
        422,
        N_("Invalid credit code"),
        N_("The unified social credit code is not valid. Check the 18 characters and try again."),
    ),
    "otp_invalid": (
        401,
        N_("Wrong code"),
        N_("The code is wrong or has expired. {remaining} tries left."),
    ),
    "otp_expired": (
        401,
        N_("Code expired"),
        N_("There is no valid code for this number. Request a new one."),
    ),
    "otp_locked": (
        401,
        N_("Too many wrong codes"),
        N_("This code no longer works after too many wrong tries. Request a new one."),
    ),
    "otp_resend_too_soon": (
        429,
        N_("Please wait"),
        N_("A code was sent a moment ago. You can ask again in {seconds} seconds."),
    ),
    "rate_limited": (
        429,
        N_("Too many requests"),
        N_("Too many requests. Try again in {seconds} seconds."),
    ),
    "sms_unavailable": (
        503,
        N_("SMS unavailable"),
        N_("We could not send the text message just now. Please try again shortly."),
    ),
    "not_authenticated": (401, N_("Please sign in"), N_("Sign in to continue.")),
    "token_invalid": (
        401,
        N_("Session ended"),
        N_("Your session has ended. Please sign in again."),
    ),
    "refresh_reused": (
        401,
        N_("Session ended for your safety"),
        N_("This sign-in was used twice, so we signed it out everywhere. Please sign in again."),
    ),
    "mfa_required": (
        403,
        N_("Second step needed"),
        N_("Confirm with the code from your authenticator app to continue."),
    ),
    "totp_invalid": (
        401,
        N_("Wrong authenticator code"),
        N_("The authenticator code or recovery code is wrong."),
    ),
    "totp_locked": (
        429,
        N_("Authenticator locked"),
        N_("Too many wrong codes. The second step is locked; try again in {minutes} minutes."),
    ),
    "totp_not_enrolled": (
        409,
        N_("No authenticator set up"),
        N_("Set up an authenticator app first."),
    ),
    "totp_already_enrolled": (
        409,
        N_("Authenticator already set up"),
        N_("An authenticator app is already set up for this account."),
    ),
    "forbidden": (403, N_("Not allowed"), N_("You do not have permission to do this.")),
    "delegation_denied": (
        403,
        N_("Not authorized for this person"),
        N_("You have no valid authorization from this person for this service."),
    ),
    "delegation_invalid": (
        422,
        N_("Invalid authorization"),
        N_("Choose at least one permission and a duration of 1 to 365 days."),
    ),
    "identity_already_bound": (
        409,
        N_("ID number already registered"),
        N_("This ID number is already linked to another account. Call 12345 for help."),
    ),
    "identity_mismatch": (
        422,
        N_("Details do not match"),
        N_(
            "The name, ID number and this phone number do not match the population registry's records. Check them, or call 12345 for help."
        ),
    ),
    "identity_locked": (
        409,
        N_("Real name already verified"),
        N_(
            "Your real name and ID number are verified and cannot be changed here. To correct them, visit a service hall or call 12345."
        ),
    ),
    "identity_checks_exhausted": (
        429,
        N_("Too many verification attempts"),
        N_("Too many real-name verification attempts today. Please try again tomorrow."),
    ),
    "webhook_url_refused": (
        422,
        N_("Webhook address refused"),
        N_(
            "We can only deliver to a public HTTPS address. Use an https:// address of your own servers that is reachable from the internet."
        ),
    ),
    "webhook_limit_reached": (
        409,
        N_("Too many webhooks"),
        N_("An enterprise can register at most {limit} webhooks. Remove one first."),
    ),
    "preference_locked": (
        422,
        N_("This cannot be switched off"),
        N_("Security messages always reach you: they cannot be switched off."),
    ),
    # Requests that cannot be read as sent (app_api/strict.py).
    "bad_request": (400, N_("Bad request"), N_("The request could not be understood.")),
    "body_malformed": (
        400,
        N_("Unreadable request body"),
        N_("The request body is not valid JSON text in UTF-8."),
    ),
    "body_too_large": (
        413,
        N_("Request body too large"),
        N_("The request body may be at most {megabytes} MB."),
    ),
    "unsupported_media_type": (
        415,
        N_("Unsupported content type"),
        N_("Send the request body as JSON, with the header Content-Type: application/json."),
    ),
    "not_found": (404, N_("Not found"), N_("We could not find what you asked for.")),
    "method_not_allowed": (
        405,
        N_("Method not allowed"),
        N_("This address does not accept that method."),
    ),
    "conflict": (
        409,
        N_("Conflict"),
        N_("This conflicts with existing data. Nothing was changed."),
    ),
    "internal_error": (
        500,
        N_("Something went wrong"),
        N_("Something went wrong on our side. Nothing was changed. Please try again."),
    ),
}


@cache
def registry() -> dict[str, ProblemType]:
    """Core problems, those every mini-program shares, and each installed program's own
    (a code declared twice fails start-up: see :func:`app_api.declarations.problem_table`)."""
    return problem_table(PROBLEMS, installed())


def problem_body(
    code: str, instance: str, params: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """The problem+json body of ``code`` in the current locale, ``params`` in its detail."""
    table = registry()
    if code not in table:
        log.error("unknown_problem_code", code=code)
        code = "internal_error"
    status, title, detail = table[code]
    return {
        "type": f"https://superapp.invalid/problems/{code.replace('_', '-')}",
        "code": code,
        "status": status,
        "title": fill(code, gettext(title), params or {}),
        "detail": fill(code, gettext(detail), params or {}),
        # The path may carry a phone or ID number a client put there; answers mask them too.
        "instance": mask_text(instance),
    }


def _respond(request: Request, problem: Problem) -> Response:
    body = problem_body(problem.code, request.url.path, problem.params)
    if problem.errors:
        body["errors"] = problem.errors
    return Response(
        body, status_code=body["status"], media_type=PROBLEM_JSON, headers=problem.headers
    )


# Per app, per route handler (stable for the app's life, so its id is a key): the codes
# its OpenAPI operation lists, worked out on its first problem (about 20 µs), or None where
# there is no operation to compare with.
_DOCUMENTED = "problems_documented"


def _documented(request: Request, handler: HTTPRouteHandler) -> frozenset[str] | None:
    cache: dict[int, frozenset[str] | None] = request.app.state.setdefault(_DOCUMENTED, {})
    key = id(handler)
    if key in cache:
        return cache[key]
    from app_api.openapi import route_doc  # that module imports this one

    codes: frozenset[str] | None = None
    if handler.resolve_include_in_schema():
        try:
            by_status = route_doc(handler).codes
        except Exception:  # a route the start-up checks never saw: nothing to compare with
            by_status = None
        if by_status is not None:
            codes = frozenset(code for listed in by_status.values() for code in listed)
    cache[key] = codes
    return codes


def _note_undocumented(request: Request, code: str) -> None:
    """Warn (``problem_not_declared``) when a route raises a code its OpenAPI operation
    does not list, i.e. one missing from its ``opt["problems"]``: a client built from the
    document would not expect it. The answer itself is unchanged."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler) or code not in registry():
        return  # no route (nothing matched), or already logged as unknown_problem_code
    if code in handler.opt.get("problems", ()):
        return  # declared: listed without working the document out
    documented = _documented(request, handler)
    if documented is not None and code not in documented:
        log.warning(
            "problem_not_declared",
            code=code,
            route=f"{handler.handler_name} {sorted(handler.paths)}",
            declared=list(handler.opt.get("problems", ())),
        )


def _on_problem(request: Request, exc: Problem) -> Response:
    _note_undocumented(request, exc.code)
    return _respond(request, exc)


_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT = re.compile(r"at `\$\.?([^`]*)`")


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    """Name the field and a stable reason; the library's English message is not shown."""
    message = str(item.get("message") or "")
    # Litestar names a parameter's place with an enum (ParamType.QUERY): send its value.
    place = item.get("source") or "body"
    source = str(getattr(place, "value", place))
    for pattern, reason in ((_UNKNOWN, "unknown_field"), (_MISSING, "missing")):
        found = pattern.search(message)
        if found:
            at = _AT.search(message)
            prefix = f"{at.group(1)}." if at and at.group(1) else ""
            return {"field": prefix + found.group(1), "reason": reason, "source": source}
    at = _AT.search(message)
    field = at.group(1) if at and at.group(1) else str(item.get("key") or "")
    return {"field": field, "reason": "invalid", "source": source}


def _on_validation(request: Request, exc: ValidationException) -> Response:
    errors = [_field_error(item) for item in exc.extra or [] if isinstance(item, dict)]
    return _respond(request, Problem("validation_failed", errors=errors or None))


def _on_http(request: Request, exc: HTTPException) -> Response:
    code = {
        401: "not_authenticated",
        403: "forbidden",
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }.get(exc.status_code)
    if code is None:
        code = "validation_failed" if exc.status_code < 500 else "internal_error"
    params: dict[str, object] = {}
    if code == "rate_limited":
        params["seconds"] = 60
    elif code == "body_too_large":
        params["megabytes"] = BODY_LIMIT // (1024 * 1024)
    # Keep the exception's headers: a 405 names the methods the address takes in Allow.
    return _respond(request, Problem(code, headers=exc.headers, **params))


def _on_integrity(request: Request, exc: IntegrityError) -> Response:
    return _respond(request, Problem("conflict"))


def _on_crash(request: Request, exc: Exception) -> Response:
    log.error("unhandled_error", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
    return _respond(request, Problem("internal_error"))


EXCEPTION_HANDLERS = {
    Problem: _on_problem,
    ValidationException: _on_validation,
    NotAuthorizedException: _on_http,
    PermissionDeniedException: _on_http,
    NotFoundException: _on_http,
    MethodNotAllowedException: _on_http,
    HTTPException: _on_http,
    IntegrityError: _on_integrity,
    Exception: _on_crash,
}
