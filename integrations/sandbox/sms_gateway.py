"""The SMS gateway as the sandbox plays it: signed template sends, delivery receipts, an outbox.

Like the Chinese gateways it stands for, it sends only registered templates, refuses what is
not a mainland mobile number (``400 INVALID_MOBILE``), and deduplicates on the caller's
``request_id`` per app id: the same request id again answers the first message id and sends
nothing new.

Delivery receipts: after accepting a message, the gateway POSTs a receipt to the callback URL
registered for the caller's app (``ReceiptConfig.callbacks`` or
``PUT /sms/admin/receipt-callbacks/{app_id} {"url"}``)::

    {"message_id", "request_id", "status": "DELIVRD" | "UNDELIV", "error_code", "done_at"}

signed as ``integrations.signing.signed_headers`` signs requests, under the gateway's own app
id and secret (``ReceiptConfig.app_id`` / ``secret``) over the callback URL's path and query.
It waits ``delay_s`` first (a handset takes a moment), and tries ``attempts`` times in all,
``backoff_s`` apart and doubling, until the callback answers 2xx. Numbers switched to
undeliverable (``PUT /sms/admin/undeliverable/{phone}``) get ``UNDELIV``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from datetime import UTC, datetime

import aiohttp
import msgspec
from aiohttp import web
from yarl import URL

from integrations.sandbox.guard import SignatureGuard, gateway_error
from integrations.signing import signed_headers

# Templates as registered with the carrier. The gateway renders them, not us.
TEMPLATES = {
    "LOGIN_CODE": "【宿迁城市通】您的验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    # Notifications (issue 10): a short title; the full message waits in the app's inbox.
    "NOTICE": "【宿迁城市通】您有一条新消息：{title}。请打开城市通查看。",
    "URGENT_NOTICE": "【宿迁城市通】紧急提醒：{title}。{body}",
    "SECURITY_ALERT": "【宿迁城市通】安全提醒：{title}。如非本人操作，请立即致电12345。",
}

MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
UNDELIVERED_CODE = "MK:0005"  # what carriers report for a number that cannot take messages

DEV_RECEIPT_APP_ID = "sandbox-sms-gateway"
DEV_RECEIPT_SECRET = "sandbox-sms-receipts-development-secret"


class ReceiptConfig(msgspec.Struct, frozen=True):
    """Who the gateway signs receipts as, where it sends them (app id -> URL), and how."""

    app_id: str = DEV_RECEIPT_APP_ID
    secret: str = DEV_RECEIPT_SECRET
    callbacks: dict[str, str] = {}
    delay_s: float = 0.2
    attempts: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 5.0


class Receipt(msgspec.Struct, frozen=True):
    """The body of one delivery receipt, as the gateway sends it."""

    message_id: str
    request_id: str
    status: str  # DELIVRD or UNDELIV
    error_code: str | None
    done_at: str


class _CallbackUrl(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: str


class SmsGateway:
    def __init__(self, guard: SignatureGuard, receipts: ReceiptConfig | None = None) -> None:
        self.guard = guard
        self.receipts = receipts or ReceiptConfig()
        self.outbox: list[dict[str, object]] = []
        self._ids = itertools.count(1)
        self._seen_requests: dict[tuple[str, str], str] = {}  # (app id, request id) -> message id
        self.callbacks: dict[str, str] = dict(self.receipts.callbacks)
        self.undeliverable: set[str] = set()
        # Receipts the gateway has sent and had acknowledged, for tests and the curious.
        self.receipts_delivered: list[Receipt] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await self.guard.check(request)
        app_id = request.headers.get("X-App-Id", "")
        try:
            phone = str(body["phone"])
            template = TEMPLATES[str(body["template"])]
            params = {str(k): str(v) for k, v in dict(body["params"]).items()}
            request_id = str(body["request_id"])
            text = template.format(**params)
        except (KeyError, TypeError, ValueError, IndexError):
            return gateway_error(400, "INVALID_PARAMETER", "bad message")
        if not MOBILE.fullmatch(phone):
            return gateway_error(400, "INVALID_MOBILE", "not a mobile number")
        seen = self._seen_requests.get((app_id, request_id))
        if seen is not None:  # the gateway deduplicates by request id, per caller
            return web.json_response({"message_id": seen, "status": "accepted"})
        message_id = f"sms-{next(self._ids):08d}"
        self._seen_requests[(app_id, request_id)] = message_id
        self.outbox.append(
            {
                "message_id": message_id,
                "request_id": request_id,
                "phone": phone,
                "template": body["template"],
                "params": params,
                "text": text,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        callback = self.callbacks.get(app_id)
        if callback is not None:
            undelivered = phone[-11:] in self.undeliverable
            task = asyncio.create_task(
                self._deliver_receipt(callback, message_id, request_id, undelivered)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({"message_id": message_id, "status": "accepted"})

    async def read_outbox(self, request: web.Request) -> web.StreamResponse:
        phone = request.query.get("phone")
        messages = [m for m in self.outbox if phone is None or m["phone"] == phone]
        return web.json_response({"messages": messages})

    async def _deliver_receipt(
        self, url: str, message_id: str, request_id: str, undelivered: bool
    ) -> None:
        cfg = self.receipts
        await asyncio.sleep(cfg.delay_s)
        receipt = Receipt(
            message_id=message_id,
            request_id=request_id,
            status="UNDELIV" if undelivered else "DELIVRD",
            error_code=UNDELIVERED_CODE if undelivered else None,
            done_at=datetime.now(UTC).isoformat(),
        )
        body = msgspec.json.encode(receipt)
        target = URL(url)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=cfg.timeout_s)
            )
        wait = cfg.backoff_s
        for attempt in range(cfg.attempts):
            # Signed afresh each time: a retry is a new request with its own nonce.
            headers = signed_headers(
                cfg.app_id, cfg.secret, "POST", target.path, dict(target.query), body
            )
            headers["Content-Type"] = "application/json"
            try:
                async with self._session.post(target, data=body, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        self.receipts_delivered.append(receipt)
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass  # the callback is down: try again later, as the real gateway does
            if attempt + 1 < cfg.attempts:
                await asyncio.sleep(wait)
                wait *= 2

    async def cleanup(self, _app: web.Application | None = None) -> None:
        """Stop pending receipts and close the callback client (the app's ``on_cleanup``)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def admin_routes(self) -> list[web.RouteDef]:
        """The development-only switches: receipt callback per app, undeliverable numbers."""

        async def set_callback(request: web.Request) -> web.StreamResponse:
            try:
                url = msgspec.json.decode(await request.read(), type=_CallbackUrl).url
            except msgspec.DecodeError as exc:
                return gateway_error(400, "INVALID_PARAMETER", str(exc))
            if URL(url).scheme not in ("http", "https") or not URL(url).host:
                return gateway_error(400, "INVALID_PARAMETER", "url must be http(s)")
            self.callbacks[request.match_info["app_id"]] = url
            return web.json_response({"callbacks": self.callbacks})

        async def drop_callback(request: web.Request) -> web.StreamResponse:
            self.callbacks.pop(request.match_info["app_id"], None)
            return web.json_response({"callbacks": self.callbacks})

        async def set_undeliverable(request: web.Request) -> web.StreamResponse:
            self.undeliverable.add(request.match_info["phone"][-11:])
            return web.json_response({"undeliverable": sorted(self.undeliverable)})

        async def drop_undeliverable(request: web.Request) -> web.StreamResponse:
            self.undeliverable.discard(request.match_info["phone"][-11:])
            return web.json_response({"undeliverable": sorted(self.undeliverable)})

        return [
            web.put("/sms/admin/receipt-callbacks/{app_id}", set_callback),
            web.delete("/sms/admin/receipt-callbacks/{app_id}", drop_callback),
            web.put("/sms/admin/undeliverable/{phone}", set_undeliverable),
            web.delete("/sms/admin/undeliverable/{phone}", drop_undeliverable),
        ]
