"""The sandbox aiohttp application and a runner for ``superapp serve``."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import structlog
from aiohttp import web

from integrations.provincial.upstream import Upstream
from integrations.sandbox.faults import Fault, FaultBoard
from integrations.sandbox.fcm import FCM, mount_fcm
from integrations.sandbox.guard import SignatureGuard
from integrations.sandbox.kit import SandboxHandlerError, SandboxKit, load_handler
from integrations.sandbox.sms_gateway import ReceiptConfig, SmsGateway

FAULTS = web.AppKey("faults", FaultBoard)
SMS = web.AppKey("sms", SmsGateway)
# Each provincial upstream the sandbox plays, by name: its kit, whose ``state`` is what its
# handler keeps (issued certificates, filed withdrawals, registered phones...).
UPSTREAMS = web.AppKey("upstreams", dict[str, SandboxKit])
log = structlog.get_logger("superapp.sandbox")


class SandboxConfig(msgspec.Struct, frozen=True):
    """Callers the sandbox knows (app id -> shared secret), for the SMS and provincial gateways,
    and the provincial upstreams it plays."""

    app_secrets: dict[str, str]
    faults: dict[str, Fault] = {}  # in force from the start, e.g. from SUPERAPP_SANDBOX_FAULTS
    today: date | None = None  # the service's SUPERAPP_TODAY; unset, the calendar in China
    # The upstreams to play (app_api.miniprogram.upstreams() for the service's own): each
    # with a ``sandbox`` handler is mounted; no other provincial route exists.
    upstreams: tuple[Upstream, ...] = ()
    # SMS delivery receipts: the gateway's signing identity and each app's callback URL.
    sms_receipts: ReceiptConfig = msgspec.field(default_factory=ReceiptConfig)
    # Service-account key files whose assertions the fake FCM's token endpoint accepts.
    fcm_accounts: tuple[dict[str, Any], ...] = ()


def create_sandbox(config: SandboxConfig) -> web.Application:
    """Build the sandbox app: SMS gateway, the given provincial upstreams, and the
    development admin surface."""
    app = web.Application()
    faults = FaultBoard()
    for upstream, fault in config.faults.items():
        faults.set(upstream, fault)
    sms = SmsGateway(SignatureGuard(config.app_secrets), config.sms_receipts)
    app[FAULTS] = faults
    app[SMS] = sms

    async def send_sms(request: web.Request) -> web.StreamResponse:
        return await faults.apply("sms", lambda: sms.send(request))

    async def set_fault(request: web.Request) -> web.StreamResponse:
        upstream = request.match_info["upstream"]
        try:
            faults.set(upstream, msgspec.json.decode(await request.read(), type=Fault))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            return web.json_response({"code": "INVALID_PARAMETER", "message": str(exc)}, status=400)
        return web.json_response({k: msgspec.to_builtins(v) for k, v in faults.snapshot().items()})

    async def clear_faults(request: web.Request) -> web.StreamResponse:
        faults.clear()
        return web.json_response({})

    app[UPSTREAMS] = _mount_upstreams(app, config, faults)
    app.router.add_post("/sms/v1/messages", send_sms)
    app.router.add_get("/sms/outbox", sms.read_outbox)
    app.router.add_routes(sms.admin_routes())
    app.on_cleanup.append(sms.cleanup)
    app.router.add_put("/admin/faults/{upstream}", set_fault)
    app.router.add_delete("/admin/faults", clear_faults)
    mount_fcm(app, faults)  # FCM HTTP v1, its OAuth token endpoint, /push/outbox: app[FCM]
    for account in config.fcm_accounts:
        app[FCM].oauth.trust(account)
    return app


def _mount_upstreams(
    app: web.Application, config: SandboxConfig, faults: FaultBoard
) -> dict[str, SandboxKit]:
    """Mount the routes of each upstream's handler, found by its declared import path."""
    # One guard for the whole provincial gateway: a nonce is spent across every upstream.
    guard = SignatureGuard(config.app_secrets)
    kits: dict[str, SandboxKit] = {}
    for spec in config.upstreams:
        if spec.name in kits:
            raise ValueError(f"two provincial upstreams are named {spec.name!r}")
        if spec.sandbox is None:
            continue
        kit = SandboxKit(spec.name, guard, faults, config.today)
        app.router.add_routes(load_handler(spec.sandbox, spec.name)(kit))
        kits[spec.name] = kit
    return kits


async def run_sandbox(config: SandboxConfig, host: str, port: int) -> web.AppRunner:
    """Start the sandbox on ``host:port``; the caller cleans up the returned runner."""
    # Short grace: a hanging "timeout" fault must not hold up Ctrl-C.
    try:
        app = create_sandbox(config)
    except SandboxHandlerError as exc:
        # Raised inside the API's lifespan, it would reach the log only as one escaped
        # traceback; this line says which upstream's declaration to fix.
        log.error("sandbox_handler_unloadable", error=str(exc))
        raise
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
