"""Structured JSON logs in which personal numbers never appear unmasked."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from app_api.identity.numbers import mask_id_number, mask_phone

# People group digits as they read them out: "138 0000 0001", "321302-19850312-0137",
# "(138)0000.0001", and a URL may carry "138/0000/0001". One separator (spaces, dashes of
# every width, dots, underscores, slashes, brackets, invisible joiners) may stand between
# any two digits, and digits may be full-width (\d is Unicode here). Letters next to the
# number do not protect it: over-masking a hash in a log costs nothing, a leak does.
_SEP = r"[\s\-._/()\u00a0\u3000\u2010-\u2015\uff0d\u200b-\u200d\u2060\ufeff]?"
_ID = re.compile(rf"(?<!\d)[1-8１-８](?:{_SEP}\d){{16}}{_SEP}[\dXx](?!\d)")
# A mainland mobile, with or without the country code (+86, 0086 or 86).
_PHONE = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?[1１]{_SEP}[3-9３-９](?:{_SEP}\d){{9}}(?!\d)"
)
_NOT_ID_CHAR = re.compile(r"[^\dXx]")
_NOT_DIGIT = re.compile(r"\D")


def _masked_id(match: re.Match[str]) -> str:
    return mask_id_number(_NOT_ID_CHAR.sub("", match.group(0)).upper())


def _masked_phone(match: re.Match[str]) -> str:
    return mask_phone(_NOT_DIGIT.sub("", match.group(0))[-11:])


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found in free text, however it is grouped."""
    text = _ID.sub(_masked_id, text)
    return _PHONE.sub(_masked_phone, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A phone or ID number logged as a number is still a personal number.
        digits = str(value)
        masked = mask_text(digits)
        return value if masked == digits else masked
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_value(v) for v in value)
    return value


def mask_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last line of defence before a record leaves the process."""
    return {k: _mask_value(v) for k, v in event.items()}


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured:
    a process may replace it after start-up (test runners do, per test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and stdlib logging (uvicorn, SAQ, Tortoise) through one masking renderer."""
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, mask_processor, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_Stderr())  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Render a traceback to text before masking: left as exc_info, it would be
                # printed raw (its message unmasked) and without the traceback.
                structlog.processors.format_exc_info,
                mask_processor,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
