"""Client of the SMS gateway: template messages, signed requests, bounded time."""

from __future__ import annotations

import secrets

import aiohttp
import msgspec

from integrations.signing import signed_headers

SEND_PATH = "/sms/v1/messages"


class SmsError(Exception):
    """The gateway did not accept the message.

    ``status`` is the gateway's HTTP status, ``None`` when no answer came (timeout, connection
    refused, a garbled body); ``code`` its error code when it gave one (``INVALID_MOBILE``).
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class SmsMessage(msgspec.Struct, frozen=True):
    phone: str
    template: str
    params: dict[str, str]
    request_id: str


class SmsAccepted(msgspec.Struct, frozen=True):
    message_id: str
    status: str


class _GatewayError(msgspec.Struct, frozen=True):
    code: str = ""


class SmsClient:
    """Sends template SMS through the gateway at ``base_url``."""

    def __init__(self, base_url: str, app_id: str, secret: str, *, timeout_s: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._app_id = app_id
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(2.0, timeout_s))
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, phone: str, template: str, params: dict[str, str], request_id: str | None = None
    ) -> str:
        """Send one message; returns the gateway's message id or raises :class:`SmsError`.

        The gateway deduplicates on ``request_id``: the same one again returns the first
        message id and sends nothing (notifications pass their delivery id). Without one, a
        fresh id is drawn and every call is a new message.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        message = SmsMessage(
            phone=phone,
            template=template,
            params=params,
            request_id=request_id or secrets.token_hex(12),
        )
        body = msgspec.json.encode(message)
        headers = signed_headers(self._app_id, self._secret, "POST", SEND_PATH, {}, body)
        headers["Content-Type"] = "application/json"
        try:
            async with self._session.post(
                self._base + SEND_PATH, data=body, headers=headers
            ) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise SmsError(
                        f"gateway answered {resp.status}",
                        status=resp.status,
                        code=_error_code(payload),
                    )
                return msgspec.json.decode(payload, type=SmsAccepted).message_id
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            raise SmsError(type(exc).__name__) from exc


def _error_code(payload: bytes) -> str | None:
    """The gateway's error code, if its answer is its JSON envelope (a proxy's page is not)."""
    try:
        return msgspec.json.decode(payload, type=_GatewayError).code or None
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
