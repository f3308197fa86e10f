"""Push to phones through Firebase Cloud Messaging (HTTP v1) with firebase-admin.

One firebase App per channel, created once (firebase-admin keeps Apps in a process-wide
registry by name; re-creating one per batch would fetch a new access token each time). Each
:class:`Outgoing` becomes its own ``messaging.Message`` sent with the SDK's async
``send_each_async``, not one ``MulticastMessage``: every recipient's text is rendered in their
own language and every item carries its own ``delivery_id``, and FCM HTTP v1 has no multicast
anyway (the SDK's ``send_each_for_multicast`` makes the same one-request-per-token calls).
Messages go one per ``send_each_async`` call with at most ``concurrency`` (100) in flight
rather than all 500 of a batch in one call: httpcore's pool scans every queued request against
every connection, so 500 queued behind 100 connections cost ten times the CPU. The delivery id
rides in the message's data as ``superapp_delivery`` and as the notification's tag / APNs
collapse id, so a batch sent again after a crash replaces the notification on the phone rather
than showing it twice.

An address is a Firebase installation ID (FID, what FCM's client SDKs register since the
registration-token API was deprecated in 2026; 22 url-safe base64 characters) or a legacy
registration token (anything longer); the message targets ``fid`` or ``token`` accordingly.

Three things are set on the SDK's messaging service, which firebase-admin 7.7 offers no
option for (checked at construction so an upgrade that moves them fails loudly):

- the send URL, when an FCM base URL is given (the sandbox's; production leaves Google's);
- the async HTTP client without the SDK's own retries (up to 4 with back-off on 500/503):
  the dispatcher owns retries and back-off, and a claimed batch must not sit for seconds;
  its timeout leaves out the wait for a pooled connection (our own queue, not a slow FCM);
  its sockets are aiohttp's (:mod:`~notifications.channels.aiohttp_transport`: a fifth of
  httpx's CPU per request), so ``concurrency`` connections stay open and are reused;
- the access token is fetched in a worker thread before a batch: the SDK's httpx auth flow
  would fetch it with a blocking ``requests`` call inside the event loop, which stalls every
  other task and hangs outright when the token endpoint is served by this same loop.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import firebase_admin
import google.auth.exceptions
import httpx
import structlog
from firebase_admin import _http_client, credentials, exceptions, messaging
from firebase_admin._retry import HttpxRetry
from google.auth.transport import requests as google_requests

from notifications.channels.aiohttp_transport import AiohttpTransport
from notifications.channels.base import Outcome, OutcomeStatus, Outgoing

log = structlog.get_logger("superapp.notifications.push")

DELIVERY_KEY = "superapp_delivery"  # our delivery id in the message's data (devices dedup by it)
MAX_BATCH = 500  # firebase-admin's limit for one send_each call
# Fetch a new access token this long before the old one expires, so the SDK's own (blocking)
# refresh, which starts 3 min 45 s before expiry, never runs.
TOKEN_MARGIN = timedelta(minutes=5)
# A Firebase installation ID: 17 bytes in url-safe base64 whose first 4 bits are 0111.
FID_SHAPE = re.compile(r"[c-f][A-Za-z0-9_-]{21}")
_app_numbers = itertools.count(1)


class _BoundedRequest(google_requests.Request):
    """google-auth's transport with our timeout (its default is 120 s)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def __call__(self, url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout_s)
        return super().__call__(url, method, *args, **kwargs)


class PushChannel:
    """The ``push`` channel: device tokens are addresses; one FCM message per :class:`Outgoing`.

    ``service_account`` is the key file's content (a dict); its ``token_uri`` says where access
    tokens come from. ``fcm_base_url`` points sends elsewhere than Google (the sandbox).
    """

    name = "push"
    max_batch = MAX_BATCH

    def __init__(
        self,
        *,
        project_id: str,
        service_account: Mapping[str, Any],
        fcm_base_url: str | None = None,
        timeout_s: float = 10.0,
        concurrency: int = 100,
    ) -> None:
        certificate = credentials.Certificate(dict(service_account))
        self._app = firebase_admin.initialize_app(
            certificate,
            {"projectId": project_id, "httpTimeout": timeout_s},
            name=f"superapp-push-{next(_app_numbers)}",
        )
        self._credential = certificate.get_credential()
        self._token_request = _BoundedRequest(timeout_s)
        self._token_lock = asyncio.Lock()
        self._in_flight = asyncio.Semaphore(concurrency)
        service = messaging._get_messaging_service(self._app)
        for attribute in ("_fcm_url", "_async_client"):
            if not hasattr(service, attribute):  # firebase-admin moved its internals
                raise RuntimeError(f"firebase-admin {firebase_admin.__version__}: no {attribute}")
        if fcm_base_url is not None:
            service._fcm_url = f"{fcm_base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        # The SDK's own client is never used (no connection opened): see the module's notes.
        client = _http_client.HttpxAsyncClient(
            credential=self._credential,
            timeout=httpx.Timeout(timeout_s, pool=None),  # type: ignore[arg-type]
            retry_config=HttpxRetry(max_retries=0),
        )
        transport = AiohttpTransport(connections=concurrency)
        for mounted in client._mounts.values():
            if not hasattr(mounted, "_wrapped_transport"):
                raise RuntimeError(f"firebase-admin {firebase_admin.__version__}: no transport")
            mounted._wrapped_transport = transport
        service._async_client = client
        self._service = service

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """Send each item to its device token; one outcome per item, in order."""
        if len(batch) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} pushes per batch; use batches()")
        if not batch:
            return []
        refused = await self._ensure_token()
        if refused is not None:
            return _all(batch, *refused)
        outcomes = await asyncio.gather(*(self._deliver(item) for item in batch))
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        log.info("push_batch_sent", size=len(batch), **counts)  # counts only: never a token
        return outcomes

    async def _deliver(self, item: Outgoing) -> Outcome:
        """One item through ``send_each_async``, at most ``concurrency`` in flight."""
        try:
            message = _message(item)
        except ValueError:  # refused by the SDK's own checks before any request
            return Outcome(delivery_id=item.delivery_id, status="failed", error="invalid_message")
        async with self._in_flight:
            try:
                result = await messaging.send_each_async([message], app=self._app)
            except exceptions.FirebaseError as exc:  # e.g. a reply that is not JSON
                return Outcome(delivery_id=item.delivery_id, status="retry", error=exc.code)
        return _outcome(item, result.responses[0])

    async def close(self) -> None:
        """Close the HTTP clients and delete the firebase App."""
        await self._service._async_client.aclose()
        self._token_request.session.close()
        # delete_app closes the messaging service with asyncio.run(), which refuses to run
        # inside a running loop: let it run in a thread (its client is closed already).
        await asyncio.to_thread(firebase_admin.delete_app, self._app)

    async def _ensure_token(self) -> tuple[OutcomeStatus, str] | None:
        """Fetch an access token in a thread when ours is missing or near expiry; an
        outcome for the whole batch when the token endpoint refuses or cannot be reached."""
        async with self._token_lock:
            expiry = self._credential.expiry  # google-auth keeps it as naive UTC
            now = datetime.now(UTC)
            if (
                self._credential.token
                and expiry is not None
                and expiry.replace(tzinfo=UTC) - now > TOKEN_MARGIN
            ):
                return None
            try:
                await asyncio.to_thread(self._credential.refresh, self._token_request)
            except google.auth.exceptions.RefreshError as exc:
                # invalid_grant (a wrong or revoked key) will not heal by itself; a 5xx will.
                retryable = bool(getattr(exc, "retryable", False))
                log.error("push_token_refused", retryable=retryable, reason=str(exc))
                return ("retry" if retryable else "failed"), "oauth_refused"
            except google.auth.exceptions.TransportError:
                log.warning("push_token_unreachable")
                return "retry", "oauth_unreachable"
        return None


def _all(batch: Sequence[Outgoing], status: OutcomeStatus, error: str) -> list[Outcome]:
    """The same outcome for every item (the batch failed before reaching FCM)."""
    return [Outcome(delivery_id=item.delivery_id, status=status, error=error) for item in batch]


def _message(item: Outgoing) -> messaging.Message:
    urgent = item.priority == "urgent"
    data = {DELIVERY_KEY: item.delivery_id, "category": item.category}
    if item.link:
        data["link"] = item.link
    target = {"fid" if FID_SHAPE.fullmatch(item.address) else "token": item.address}
    with warnings.catch_warnings():  # "Message.token is deprecated": old devices still have one
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(
            **target,
            notification=messaging.Notification(title=item.title, body=item.body),
            data=data,
            # The tag / collapse id replace a notification already shown for the same delivery.
            android=messaging.AndroidConfig(
                priority="high" if urgent else "normal",
                notification=messaging.AndroidNotification(tag=item.delivery_id),
            ),
            apns=messaging.APNSConfig(
                headers={
                    "apns-priority": "10" if urgent else "5",
                    "apns-collapse-id": item.delivery_id[:64],  # APNs allows 64 bytes
                }
            ),
        )


def _outcome(item: Outgoing, response: messaging.SendResponse) -> Outcome:
    """What one FCM answer means for the dispatcher (see ``Outcome`` in base.py)."""
    if response.success:
        return Outcome(
            delivery_id=item.delivery_id, status="sent", provider_message_id=response.message_id
        )
    exc = response.exception
    code = _fcm_code(exc) or getattr(exc, "code", None) or "UNKNOWN"
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return Outcome(delivery_id=item.delivery_id, status="invalid_address", error=code)
    if isinstance(exc, exceptions.InvalidArgumentError):
        # INVALID_ARGUMENT is a bad address or a bad message; FCM tells them apart only in
        # words ("The registration token is not a valid FCM registration token"). A payload
        # error must not cost the resident their device.
        words = str(exc).lower()
        about_token = "registration token" in words or "installation id" in words
        status = "invalid_address" if about_token else "failed"
        return Outcome(delivery_id=item.delivery_id, status=status, error=code)
    if isinstance(
        exc,
        messaging.QuotaExceededError
        | exceptions.UnavailableError
        | exceptions.InternalError
        | exceptions.DeadlineExceededError
        | exceptions.ResourceExhaustedError,
    ):
        return Outcome(
            delivery_id=item.delivery_id,
            status="retry",
            error=code,
            retry_after_s=_retry_after(exc),
        )
    if isinstance(getattr(exc, "cause", None), httpx.TransportError):
        # The connection broke mid-answer: FCM may or may not have the message; sent again,
        # its tag replaces it on the phone rather than showing it twice.
        return Outcome(delivery_id=item.delivery_id, status="retry", error="connection_lost")
    return Outcome(delivery_id=item.delivery_id, status="failed", error=code)


def _fcm_code(exc: Any) -> str | None:
    """FCM's own ``errorCode`` (UNREGISTERED, QUOTA_EXCEEDED...) from the error's details."""
    response = getattr(exc, "http_response", None)
    if response is None:
        return None
    try:
        details: Iterable[Any] = response.json()["error"].get("details", [])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type", "").endswith("fcm.v1.FcmError"):
            return detail.get("errorCode")
    return None


def _retry_after(exc: Any) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), when the answer gave one."""
    response = getattr(exc, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
