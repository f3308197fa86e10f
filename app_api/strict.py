"""Input taken as sent: no coercion, no guessing, bounded size.

Litestar's defaults decode a JSON body without its type and then convert it leniently, so
``"days": "5"`` became 5 and a body nested thousands deep crashed the decoder; query numbers
were converted the same way, so ``page=1e3`` read as 1000. Here:

- a body is at most :data:`BODY_LIMIT` bytes (413 ``body_too_large``);
- it must be labelled JSON (415 ``unsupported_media_type``), be UTF-8 JSON text
  (400 ``body_malformed``), and is decoded straight into the handler's ``data`` type in
  strict mode (422 ``validation_failed`` naming the field);
- an integer query parameter is plain ASCII digits (422 ``validation_failed``).
"""

from __future__ import annotations

import re
import types
from functools import partial
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.constants import RESERVED_KWARGS
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import ParameterKwarg
from litestar.serialization.msgspec_hooks import default_deserializer
from litestar.types import Guard

from miniprograms.contract import Problem

BODY_LIMIT = 1024 * 1024
"""Largest request body accepted, in bytes (1 MB). Every body the API takes is a few hundred."""

_PLAIN_INT = re.compile(r"-?[0-9]+")
_SEQUENCES = (list, tuple, set, frozenset)


def is_json(media_type: str, options: dict[str, str]) -> bool:
    """``application/json`` or ``application/<x>+json``, in UTF-8 if a charset is named."""
    media_type = media_type.lower()
    json_type = media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
    charset = options.get("charset", "utf-8").lower()
    return json_type and charset in ("utf-8", "utf8")


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded strictly into the handler's ``data`` type."""

    async def json(self) -> Any:
        """The body decoded into the handler's ``data`` type; problems as described above.

        Litestar calls this only for a non-empty body, and converts the result to the same
        type again, which leaves an instance of that type as it is.
        """
        if not is_json(*self.content_type):
            raise Problem("unsupported_media_type")
        body = await self.body()
        field = self.route_handler.parsed_fn_signature.parameters.get("data")
        hook = partial(
            default_deserializer, type_decoders=self.route_handler.resolve_type_decoders()
        )
        try:
            if field is None:
                return msgspec.json.decode(body)
            return msgspec.json.decode(body, type=field.annotation, strict=True, dec_hook=hook)
        except msgspec.ValidationError as exc:
            raise ValidationException(extra=[{"message": str(exc), "source": "body"}]) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            # RecursionError: JSON nested deeper than the decoder's stack, where the type
            # allows any value.
            raise Problem("body_malformed") from None


def _holds_int(annotation: Any) -> bool:
    """``int``, ``int | None`` or a sequence of ``int`` (``bool`` is not an int here)."""
    if annotation is int:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _holds_int(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_holds_int(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin in _SEQUENCES:
        return any(_holds_int(arg) for arg in get_args(annotation))
    return False


def _integer_query_names(connection: ASGIConnection, handler: BaseRouteHandler) -> tuple[str, ...]:
    """Query parameter names (as sent) of the handler's integer parameters."""
    dependencies = handler.resolve_dependencies()
    names = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in RESERVED_KWARGS or name in dependencies or name in connection.path_params:
            continue
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
            continue
        if _holds_int(field.annotation):
            names.append(kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name)
    return tuple(names)


def plain_integer_queries() -> Guard:
    """A guard that refuses ``page=1e3``, ``page=5.0`` and the like instead of converting them.

    A guard, because guards of every layer run (a route's ``before_request`` would replace
    the app's); placed after the access guard, so a stranger learns nothing from it. One per
    app: it remembers each handler's integer parameters (working them out costs ~20 µs).
    """
    # Keyed by the handler's id: Litestar hands guards a fresh copy of the handler object
    # per request, so keying by the object would never hit and would grow for ever.
    known: dict[str, tuple[str, ...]] = {}

    # async: a plain function guard is run in a worker thread on every request.
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        names = known.get(handler.handler_id)
        if names is None:
            names = known[handler.handler_id] = _integer_query_names(connection, handler)
        errors = [
            {"message": "Expected a plain integer", "key": alias, "source": "query"}
            for alias in names
            if any(
                not _PLAIN_INT.fullmatch(raw) for raw in connection.query_params.getall(alias, [])
            )
        ]
        if errors:
            raise ValidationException(extra=errors)

    return guard
