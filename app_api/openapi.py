"""The OpenAPI document describes the API as it answers, failures included.

Routes say who may call them in ``opt["access"]`` (a typed rule from
:mod:`miniprograms.access`, checked at start-up by :mod:`app_api.access`) and which problems
their own code raises (``opt["problems"] = ("identity_locked", ...)``). From that, and from
the handler's signature, :class:`ApiDocument` gives every operation:

- one ``application/problem+json`` response per status it can answer, whose schema names the
  problem codes of that status on that route (so a fuzzer catches an undeclared one);
- bearer security, unless the route is public; ``X-Act-As`` where a relative may act;
- a required ``Idempotency-Key`` where the route refuses to work without one;
- ``x-rules-beyond-schema: true`` where a request the schema allows may still be refused with
  422, by a rule no JSON Schema states (a check digit, a month range, a reused key).

:class:`StrictBodies` writes ``additionalProperties: false`` for the Structs that reject
unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from litestar import Response

# Litestar's own schema for Structs, extended below (no public name in 2.x).
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.constants import RESERVED_KWARGS
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityScheme,
)
from litestar.plugins import ReceiveRoutePlugin
from litestar.router import Router
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Scope
from litestar.typing import FieldDefinition

from app_api.access import rule_of
from app_api.errors import PROBLEM_JSON, registry
from app_api.schemas import Out
from miniprograms.access import PROBLEMS, public

BEARER = "BearerToken"
ACT_AS = "X-Act-As"
IDEMPOTENCY_KEY = "Idempotency-Key"
# Statuses about a request body as a whole (malformed, too large, not JSON): every route
# that reads one can answer them, whatever code the error handlers give them.
BODY_STATUSES = frozenset({400, 413, 415})
HEADERS_BY_STATUS = {
    401: {"WWW-Authenticate": "The bearer challenge, when a token is missing or no longer valid."},
    429: {"Retry-After": "Seconds to wait before trying again."},
    503: {"Retry-After": "Seconds to wait before trying again."},
}


class FieldError(Out):
    """One field of a request that failed validation."""

    field: str
    reason: str
    source: Literal["body", "query", "path", "header", "cookie"]


class ProblemDetails(Out):
    """An RFC 9457 problem: a stable ``code``, a localized ``title`` and ``detail``."""

    type: str
    code: str
    status: int
    title: str
    detail: str
    instance: str
    errors: list[FieldError] | None = None


@dataclass(frozen=True)
class RouteDoc:
    """What one route can answer besides success, worked out from its declarations."""

    codes: dict[int, tuple[str, ...]]
    public: bool
    delegable: bool
    beyond_schema: bool
    idempotency_key_required: bool


def _signature_parameters(handler: HTTPRouteHandler) -> set[str]:
    """Names the client sends (body, query, path, header), not what dependencies provide."""
    names = set(handler.parsed_fn_signature.parameters)
    return names - set(handler.resolve_dependencies()) - (RESERVED_KWARGS - {"data"})


def route_doc(handler: HTTPRouteHandler) -> RouteDoc:
    """The problems ``handler`` can answer: from its access rule, signature and declarations."""
    table = registry()
    rule = rule_of(handler)
    declared = tuple(handler.opt.get(PROBLEMS, ()))
    unknown = [code for code in declared if code not in table]
    if unknown:
        raise ValueError(
            f"{handler.handler_name} declares problem codes not in PROBLEMS: {unknown}"
        )
    codes: set[str] = set(declared)
    if not rule.public:
        # The guard: no or a spent token; X-Act-As naming someone who granted nothing.
        codes |= {"not_authenticated", "token_invalid", "delegation_denied"}
        if rule.kind is not None:
            codes.add("forbidden")
        if rule.aal > 1:  # operator rules always say 2
            codes.add("mfa_required")
    sent = _signature_parameters(handler)
    if sent:
        codes.add("validation_failed")
    if "data" in sent:
        codes |= {code for code, entry in table.items() if entry[0] in BODY_STATUSES}
    if "subject" in handler.parsed_fn_signature.parameters:
        codes.add("forbidden")  # the subject dependency serves residents only
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        by_status.setdefault(table[code][0], []).append(code)
    return RouteDoc(
        codes={status: tuple(names) for status, names in sorted(by_status.items())},
        public=rule.public,
        delegable=rule.scope is not None,
        beyond_schema=any(table[code][0] == 422 for code in declared),
        idempotency_key_required="idempotency_key_required" in declared,
    )


def _description(codes: tuple[str, ...]) -> str:
    table = registry()
    return "; ".join(f"`{code}`: {table[code][1]}" for code in codes)


@dataclass
class ApiOperation(Operation):
    """An operation completed from its :class:`RouteDoc` (see the module docstring)."""

    route: RouteDoc | None = field(default=None, repr=False)

    @property
    def _exclude_fields(self) -> set[str]:
        return {"route"}

    def __post_init__(self) -> None:
        route = self.route
        if route is None:
            return
        self.security = None if route.public else [{BEARER: []}]
        responses = self.responses or {}
        if 400 not in route.codes:
            responses.pop("400", None)  # Litestar's own validation answer; ours is a 422 problem
        for status, codes in route.codes.items():
            response = responses.get(str(status))
            if not isinstance(response, OpenAPIResponse) or not response.content:
                continue
            media = response.content.get(PROBLEM_JSON)
            if media is None or media.schema is None:
                continue
            # Narrow the shared problem schema to this route's codes and status.
            media.schema = Schema(
                all_of=[
                    media.schema,
                    Schema(
                        type=OpenAPIType.OBJECT,
                        properties={
                            "code": Schema(type=OpenAPIType.STRING, enum=list(codes)),
                            "status": Schema(type=OpenAPIType.INTEGER, const=status),
                        },
                    ),
                ]
            )
            headers = HEADERS_BY_STATUS.get(status)
            if headers:
                response.headers = {
                    name: OpenAPIHeader(
                        schema=Schema(
                            type=OpenAPIType.INTEGER
                            if name == "Retry-After"
                            else OpenAPIType.STRING
                        ),
                        description=text,
                    )
                    for name, text in headers.items()
                }
        self.responses = responses
        parameters = list(self.parameters or [])
        for parameter in parameters:
            if isinstance(parameter, Parameter) and parameter.name == IDEMPOTENCY_KEY:
                parameter.required = parameter.required or route.idempotency_key_required
        if route.delegable:
            parameters.append(
                Parameter(
                    name=ACT_AS,
                    param_in="header",
                    required=False,
                    description=(
                        "Act for a resident who granted this service to the caller (亲情代办): "
                        "their account id. Empty or the caller's own id: the caller."
                    ),
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        any_of=[Schema(format="uuid"), Schema(max_length=0)],  # type: ignore[arg-type]
                    ),
                )
            )
        self.parameters = parameters or None

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        if self.route is not None and self.route.beyond_schema:
            schema["x-rules-beyond-schema"] = True
        return schema


def describe(handler: HTTPRouteHandler) -> None:
    """Declare ``handler``'s problem responses and have its operation completed."""
    route = route_doc(handler)
    responses = dict(handler.responses or {})
    for status, codes in route.codes.items():
        responses.setdefault(
            status,
            ResponseSpec(
                data_container=ProblemDetails,
                description=_description(codes),
                media_type=PROBLEM_JSON,
                generate_examples=False,
            ),
        )
    handler.responses = responses
    handler.operation_class = partial(ApiOperation, route=route)  # type: ignore[assignment]


class ApiDocument(ReceiveRoutePlugin):
    """Completes the operation of every documented HTTP route as it is registered."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                describe(handler)


class AllowEveryMethod(ReceiveRoutePlugin):
    """``OPTIONS`` names every method of a path, as the document does.

    Litestar writes a path's ``OPTIONS`` answer for the route that first held the path;
    handlers of other methods that join it later (a GET and a POST on one path) were
    missing from its ``Allow`` header.
    """

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            return
        handler = route.route_handler_map["OPTIONS"][0]
        if handler.fn.__name__ != "options_handler":
            return  # an OPTIONS handler of our own
        allow = ", ".join(sorted(route.methods))

        def options_handler(scope: Scope) -> Response:
            return Response(
                content=None, status_code=204, headers={"Allow": allow}, media_type=MediaType.TEXT
            )

        handler._fn = options_handler  # same signature, so the prepared call still fits


class StrictBodies(StructSchemaPlugin):
    """Structs with ``forbid_unknown_fields`` say so: ``additionalProperties: false``."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and bool(
            field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def plugins() -> list[Any]:
    """The app's plugins for its document (fresh per app)."""
    return [StrictBodies(), ApiDocument(), AllowEveryMethod()]


def config(version: str) -> OpenAPIConfig:
    """The document's metadata; security is declared per operation (public routes have none)."""
    return OpenAPIConfig(
        title="Citizen super-app API",
        version=version,
        description="One login and one home screen for a city's public services.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
        openapi_router=Router(
            path="/schema", route_handlers=[], opt={"access": public()}, include_in_schema=False
        ),
        components=Components(
            security_schemes={BEARER: SecurityScheme(type="http", scheme="bearer")}
        ),
    )
