"""Client of the SMS gateway: template messages, signed requests, bounded time."""

from __future__ import annotations

import secrets

import aiohttp
import msgspec

from integrations.signing import signed_headers

SEND_PATH = "/sms/v1/messages"


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsMessage(msgspec.Struct, frozen=True):
    phone: str
    template: str
    params: dict[str, str]
    request_id: str


class SmsAccepted(msgspec.Struct, frozen=True):
    message_id: str
    status: str


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

    async def send(self, phone: str, template: str, params: dict[str, str]) -> str:
        """Send one message; returns the gateway's message id or raises :class:`SmsError`."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        message = SmsMessage(
            phone=phone, template=template, params=params, request_id=secrets.token_hex(12)
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
                    raise SmsError(f"gateway answered {resp.status}")
                return msgspec.json.decode(payload, type=SmsAccepted).message_id
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            raise SmsError(type(exc).__name__) from exc
