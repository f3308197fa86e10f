"""The SMS gateway as the sandbox plays it: signed template sends and a readable outbox."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from aiohttp import web

from integrations.sandbox.guard import SignatureGuard, gateway_error

# Templates as registered with the carrier. The gateway renders them, not us.
TEMPLATES = {
    "LOGIN_CODE": "【宿迁城市通】您的验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
}


class SmsGateway:
    def __init__(self, guard: SignatureGuard) -> None:
        self.guard = guard
        self.outbox: list[dict[str, object]] = []
        self._ids = itertools.count(1)
        self._seen_requests: dict[str, str] = {}

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await self.guard.check(request)
        try:
            phone = str(body["phone"])
            template = TEMPLATES[str(body["template"])]
            params = {str(k): str(v) for k, v in dict(body["params"]).items()}
            request_id = str(body["request_id"])
            text = template.format(**params)
        except (KeyError, TypeError, ValueError, IndexError):
            return gateway_error(400, "INVALID_PARAMETER", "bad message")
        if request_id in self._seen_requests:  # the gateway deduplicates by request id
            return web.json_response(
                {"message_id": self._seen_requests[request_id], "status": "accepted"}
            )
        message_id = f"sms-{next(self._ids):08d}"
        self._seen_requests[request_id] = message_id
        self.outbox.append(
            {
                "message_id": message_id,
                "phone": phone,
                "template": body["template"],
                "params": params,
                "text": text,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        return web.json_response({"message_id": message_id, "status": "accepted"})

    async def read_outbox(self, request: web.Request) -> web.StreamResponse:
        phone = request.query.get("phone")
        messages = [m for m in self.outbox if phone is None or m["phone"] == phone]
        return web.json_response({"messages": messages})
