"""Firebase Cloud Messaging HTTP v1, as the sandbox plays it, and its push outbox.

``POST /v1/projects/{project}/messages:send`` takes ``{"message": {...}, "validate_only"?}``
with a Bearer token from the sandbox's OAuth endpoint (``POST /token``, see
``google_oauth.py``) and answers ``{"name": "projects/{project}/messages/{id}"}``, or an
error in Google's format, ``{"error": {"code", "message", "status", "details": [{"@type":
"type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": ...}]}}``, with FCM's
HTTP statuses. Real FCM does not deduplicate, and neither does the fake: a message sent twice
is in the outbox twice.

Development surface:

- ``GET /push/outbox`` (``?token=`` to filter) lists accepted messages, newest last;
  ``DELETE /push/outbox`` empties it.
- ``PUT /admin/faults/fcm`` (the sandbox's fault board) misbehaves the whole endpoint, in
  FCM's words: ``error`` answers 503 ``UNAVAILABLE``, ``throttle`` 429 ``QUOTA_EXCEEDED``
  with ``Retry-After``.
- ``PUT /admin/fcm/tokens/{token}`` with ``{"error": "UNREGISTERED", "times"?: n}`` makes
  FCM answer that for one device (its registration token or installation ID, ``fid``);
  ``DELETE`` heals it.
- ``PUT /admin/fcm/service-accounts/{client_email}``: trust a service account's public key.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from aiohttp import web

from integrations.sandbox.faults import FaultBoard
from integrations.sandbox.google_oauth import OAuthServer

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
SEND_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/firebase.messaging",
        "https://www.googleapis.com/auth/cloud-platform",
    }
)
MAX_PAYLOAD_BYTES = 4096  # FCM's limit on a message's data and notification together
OUTBOX_KEEP = 10_000  # the outbox shows the latest; ``accepted`` counts them all
# Keys FCM reserves in ``data`` (and the prefixes).
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
MESSAGE_FIELDS = frozenset(
    {
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "fid",
        "topic",
        "condition",
    }
)
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_:.\-]{1,4096}")
FID_SHAPE = re.compile(r"[c-f][A-Za-z0-9_-]{21}")  # a Firebase installation ID
BAD_TOKEN = "The registration token is not a valid FCM registration token"
BAD_FID = "The Firebase installation ID is not valid"

# What one device token can be made to answer: FCM's errorCode -> (HTTP status, status, message).
# THIRD_PARTY_AUTH_ERROR (401) is left out on purpose: firebase-admin answers a 401 by refreshing
# its credential synchronously inside the event loop, which hangs an in-process sandbox.
TokenError = Literal[
    "UNREGISTERED",
    "INVALID_ARGUMENT",
    "UNAVAILABLE",
    "INTERNAL",
    "QUOTA_EXCEEDED",
    "SENDER_ID_MISMATCH",
]
TOKEN_ERRORS: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", BAD_TOKEN),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for device."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
}


class TokenAnswer(msgspec.Struct, forbid_unknown_fields=True):
    """What FCM answers for one device token; ``times``: only the next N sends, then heal."""

    error: TokenError
    times: int | None = None


def google_error(
    code: int,
    status: str,
    message: str,
    fcm_error: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in Google's JSON format, with an ``FcmError`` detail when FCM names one."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if fcm_error:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_error}]
    return web.json_response({"error": error}, status=code, headers=headers)


def _invalid(message: str) -> web.Response:
    return google_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT")


def _check_message(message: Any) -> str | None:
    """Why FCM would refuse this message's shape, or None."""
    if not isinstance(message, dict):
        return "Invalid JSON payload received. 'message' is not an object."
    for field in message:
        if field not in MESSAGE_FIELDS:
            return f"Invalid JSON payload received. Unknown name \"{field}\" at 'message': Cannot find field."
    targets = [t for t in ("token", "fid", "topic", "condition") if message.get(t) is not None]
    if len(targets) != 1:
        return "Recipient of the message is not set." if not targets else "Too many recipients."
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        return "Invalid value at 'message.data': values are strings."
    for key in data:
        if key in RESERVED_DATA_KEYS or key.startswith(("google", "gcm")):
            return f"Invalid data payload key: {key}"
    for part in ("notification", "android", "apns", "webpush", "fcm_options"):
        if not isinstance(message.get(part, {}), dict):
            return f"Invalid value at 'message.{part}'."
    priority = message.get("android", {}).get("priority")
    if priority not in (None, "normal", "high", "NORMAL", "HIGH"):
        return f"Invalid value at 'message.android.priority' ({priority})."
    payload = msgspec.json.encode({"d": data, "n": message.get("notification", {})})
    if len(payload) > MAX_PAYLOAD_BYTES:
        return "Message is too big"
    return None


class FakeFcm:
    """The fake's state: accepted messages, per-token answers, and its OAuth server."""

    def __init__(self, faults: FaultBoard) -> None:
        self.faults = faults
        self.oauth = OAuthServer()
        self.outbox: deque[dict[str, Any]] = deque(maxlen=OUTBOX_KEEP)
        self.accepted = 0  # every message accepted since the last clear, kept or not
        self.requests = 0  # every send request that reached the fake, answered or refused
        self._token_answers: dict[str, TokenAnswer] = {}
        self._ids = itertools.count(1)

    def answer_for(self, token: str, answer: TokenAnswer) -> None:
        """Make FCM answer ``answer.error`` for ``token`` (``times`` sends, or until healed)."""
        if answer.times is not None and answer.times < 1:
            raise ValueError("times is at least 1")
        self._token_answers[token] = answer

    def heal(self, token: str | None = None) -> None:
        """Forget the answer set for ``token`` (every token's, without one)."""
        if token is None:
            self._token_answers.clear()
        else:
            self._token_answers.pop(token, None)

    async def send(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/projects/{project}/messages:send``, behind the ``fcm`` faults."""
        self.requests += 1
        served: list[web.StreamResponse] = []

        async def answer() -> web.StreamResponse:
            served.append(await self._send(request))
            return served[0]

        response = await self.faults.apply("fcm", answer)
        if served and response is served[0]:
            return response
        # The fault board speaks the provincial gateway's envelope; FCM says it in its own.
        if response.status == 500:
            return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        if response.status == 429:
            return google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Send requests'.",
                "QUOTA_EXCEEDED",
                headers={"Retry-After": response.headers.get("Retry-After", "1")},
            )
        return response  # "malformed": a broken body is a broken body

    async def _send(self, request: web.Request) -> web.StreamResponse:
        project = request.match_info["project"]
        scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
        grant = self.oauth.grant(access_token) if scheme.lower() == "bearer" else None
        if grant is None:
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        if grant.project_id != project or not grant.scopes & SEND_SCOPES:
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Permission 'cloudmessaging.messages.create' denied on resource "
                f"'//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist).",
            )
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            return _invalid("Invalid JSON payload received.")
        if not isinstance(body, dict) or set(body) - {"message", "validate_only"}:
            return _invalid("Invalid JSON payload received. Unknown name at request.")
        message = body.get("message")
        refusal = _check_message(message)
        if refusal is not None:
            return _invalid(refusal)
        token, fid = message.get("token"), message.get("fid")
        if token is not None or fid is not None:
            refused = self._address_refusal(token, fid)
            if refused is not None:
                return refused
        if body.get("validate_only"):
            return web.json_response({"name": f"projects/{project}/messages/fake_message_id"})
        # FCM's ids look like "0:1500415314455276%31bd1c9631bd1c96".
        name = f"projects/{project}/messages/0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        self.accepted += 1
        self.outbox.append(
            {
                "name": name,
                "project": project,
                "token": token,
                "fid": fid,
                "message": message,
                "at": datetime.now(UTC).isoformat(),
                "seq": next(self._ids),
            }
        )
        return web.json_response({"name": name})

    def _address_refusal(self, token: Any, fid: Any) -> web.Response | None:
        if fid is not None and (not isinstance(fid, str) or not FID_SHAPE.fullmatch(fid)):
            return _invalid(BAD_FID)
        if token is not None and (not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token)):
            return _invalid(BAD_TOKEN)
        address = token if token is not None else fid
        answer = self._token_answers.get(address)
        if answer is None:
            return None
        if answer.times is not None:
            if answer.times <= 1:
                del self._token_answers[address]
            else:
                self._token_answers[address] = msgspec.structs.replace(
                    answer, times=answer.times - 1
                )
        code, status, text = TOKEN_ERRORS[answer.error]
        if answer.error == "INVALID_ARGUMENT" and token is None:
            text = BAD_FID
        headers = {"Retry-After": "1"} if code in (429, 503) else None
        return google_error(code, status, text, answer.error, headers)

    async def read_outbox(self, request: web.Request) -> web.StreamResponse:
        """``GET /push/outbox``: the accepted messages (``?token=`` for one device's, by its
        registration token or installation ID)."""
        token = request.query.get("token")
        messages = [m for m in self.outbox if token is None or token in (m["token"], m["fid"])]
        return web.json_response({"messages": messages, "accepted": self.accepted})

    async def clear_outbox(self, request: web.Request) -> web.StreamResponse:
        """``DELETE /push/outbox``."""
        self.outbox.clear()
        self.accepted = 0
        return web.json_response({"messages": [], "accepted": 0})

    async def set_token_answer(self, request: web.Request) -> web.StreamResponse:
        """``PUT /admin/fcm/tokens/{token}`` with ``{"error": ..., "times"?: n}``."""
        try:
            answer = msgspec.json.decode(await request.read(), type=TokenAnswer)
            self.answer_for(request.match_info["token"], answer)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            return web.json_response({"code": "INVALID_PARAMETER", "message": str(exc)}, status=400)
        return web.json_response(msgspec.to_builtins(answer))

    async def heal_token(self, request: web.Request) -> web.StreamResponse:
        """``DELETE /admin/fcm/tokens/{token}``."""
        self.heal(request.match_info["token"])
        return web.json_response({})


FCM = web.AppKey("fcm", FakeFcm)


def mount_fcm(app: web.Application, faults: FaultBoard) -> FakeFcm:
    """Mount the fake FCM, its OAuth endpoint and its development routes on the sandbox app;
    the fake is published as ``app[FCM]``."""
    fcm = FakeFcm(faults)
    app[FCM] = fcm
    app.router.add_post("/token", fcm.oauth.token)
    app.router.add_post("/v1/projects/{project}/messages:send", fcm.send)
    app.router.add_get("/push/outbox", fcm.read_outbox)
    app.router.add_delete("/push/outbox", fcm.clear_outbox)
    app.router.add_put("/admin/fcm/tokens/{token}", fcm.set_token_answer)
    app.router.add_delete("/admin/fcm/tokens/{token}", fcm.heal_token)
    app.router.add_put("/admin/fcm/service-accounts/{client_email}", fcm.oauth.trust_route)
    return fcm
