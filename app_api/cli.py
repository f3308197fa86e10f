"""The ``superapp`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec

from app_api import db
from app_api import settings as settings_mod
from app_api.settings import Settings, SettingsError
from integrations.sandbox import SandboxConfig, run_sandbox
from integrations.sandbox.faults import Fault

OPENAPI_PATH = Path("openapi/openapi.json")


def _settings() -> Settings:
    try:
        return settings_mod.load()
    except SettingsError as exc:
        sys.exit(f"superapp: {exc}")


def openapi_document() -> dict:
    """The OpenAPI document the code generates, as committed in ``openapi/openapi.json``."""
    from app_api.app import create_app

    app = create_app(settings_mod.load({}), start_worker=False)
    return app.openapi_schema.to_schema()


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _own_url(cfg: Settings) -> str:
    host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::", "") else cfg.host
    return f"http://{host}:{cfg.port}"


def _sandbox_config(cfg: Settings) -> SandboxConfig:
    from app_api import notices
    from app_api.miniprogram import upstreams
    from integrations.sandbox.sms_gateway import ReceiptConfig

    try:
        faults = msgspec.json.decode(cfg.sandbox_faults or "{}", type=dict[str, Fault])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        sys.exit(f"superapp: SUPERAPP_SANDBOX_FAULTS is not valid: {exc}")
    return SandboxConfig(
        faults=faults,
        today=cfg.today,
        upstreams=upstreams(),  # the provincial upstreams this service reads, and no others
        # The sandbox's FCM trusts the development key (never a real one: it is not given it).
        fcm_accounts=(notices.fcm_account(cfg),) if cfg.env != "production" else (),
        # Receipts come back to this service, signed as the gateway signs them.
        sms_receipts=ReceiptConfig(
            app_id=cfg.sms_receipt_app_id,
            secret=cfg.sms_receipt_secret,
            callbacks={cfg.sms_app_id: f"{_own_url(cfg)}/api/v1/callbacks/sms-receipts"},
        ),
        app_secrets={
            cfg.sms_app_id: cfg.sms_app_secret,
            cfg.provincial_app_id: cfg.provincial_app_secret,
        },
    )


def _freeze_startup() -> None:
    """Hide what start-up built (routes, models, catalogs, pools) from the garbage collector.

    It lives as long as the process; left in sight, it makes every full collection long
    (measured: one paused the server for 85 ms in the middle of serving requests).
    """
    gc.collect()
    gc.freeze()


async def _sandbox_alone(cfg: Settings) -> None:
    """Only the outside systems, in their own process (as the province would be)."""
    runner = await run_sandbox(_sandbox_config(cfg), cfg.sandbox_host, cfg.sandbox_port)
    print(
        f"sandbox of outside systems on http://{cfg.sandbox_host}:{cfg.sandbox_port}",
        file=sys.stderr,
    )
    _freeze_startup()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def uvicorn_options(cfg: Settings) -> dict[str, Any]:
    """How the API is served, whichever command serves it."""
    return {
        "host": cfg.host,
        "port": cfg.port,
        "log_config": None,
        "access_log": False,
        # The app decides the client address itself (app_api/addresses.py): uvicorn's own
        # handling believes X-Forwarded-For from loopback, i.e. from anyone on the machine.
        "proxy_headers": False,
    }


async def _serve(cfg: Settings) -> None:
    import uvicorn

    from app_api.app import create_app

    @asynccontextmanager
    async def sandbox(_app: object) -> AsyncIterator[None]:
        # Inside the API's lifespan, so uvicorn's graceful shutdown also stops the sandbox.
        runner = await run_sandbox(_sandbox_config(cfg), cfg.sandbox_host, cfg.sandbox_port)
        print(
            f"sandbox of outside systems on http://{cfg.sandbox_host}:{cfg.sandbox_port}",
            file=sys.stderr,
        )
        try:
            yield
        finally:
            await runner.cleanup()

    app = create_app(cfg, extra_lifespans=[*([sandbox] if cfg.sandbox else []), _long_lived])
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(cfg)))
    print(f"API on http://{cfg.host}:{cfg.port}  (docs: /schema)", file=sys.stderr)
    await server.serve()


@asynccontextmanager
async def _long_lived(_app: object) -> AsyncIterator[None]:
    """The last start-up step of an API process (see :func:`_freeze_startup`)."""
    _freeze_startup()
    yield


def process_app() -> Any:
    """The app of one process of ``serve --workers N``: uvicorn calls this in each of them."""
    from app_api.app import create_app

    return create_app(settings_mod.load(), extra_lifespans=[_long_lived])


def _serve_processes(cfg: Settings) -> None:
    """``serve`` in ``cfg.workers`` API processes sharing one listening socket (uvicorn's
    supervisor restarts one that dies). The sandbox must listen once: it gets its own process."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if cfg.is_fakeredis:
        sys.exit(
            "superapp: several API processes need a Redis server they share "
            "(SUPERAPP_REDIS_URL); the embedded fakeredis lives inside one process"
        )
    sandbox = _start_sandbox_process(cfg) if cfg.sandbox else None
    print(
        f"API on http://{cfg.host}:{cfg.port} in {cfg.workers} processes  (docs: /schema)",
        file=sys.stderr,
    )
    config = uvicorn.Config(
        "app_api.cli:process_app", factory=True, workers=cfg.workers, **uvicorn_options(cfg)
    )
    try:
        Multiprocess(config, sockets=[listening_socket(config)]).run()
    finally:
        if sandbox is not None:
            sandbox.send_signal(signal.SIGINT)
            try:
                sandbox.wait(15)
            except subprocess.TimeoutExpired:
                sandbox.kill()


def listening_socket(config: Any) -> socket.socket:
    """The socket the API processes share, bound by uvicorn but declared TCP.

    uvicorn binds it with protocol 0; accepted connections inherit that, and asyncio then
    leaves Nagle's algorithm on for them (it sets TCP_NODELAY only on sockets that say TCP), so
    every keep-alive answer waits ~40 ms for the client's delayed ACK (uvicorn issue #3149;
    measured here: one client, 23 requests/s). Same descriptor, protocol stated.
    """
    bound = config.bind_socket()
    sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    sock.set_inheritable(True)
    return sock


def _start_sandbox_process(cfg: Settings) -> subprocess.Popen[bytes]:
    """``superapp sandbox`` as a child (same environment), once it accepts connections."""
    process = subprocess.Popen([sys.executable, "-m", "app_api", "sandbox"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            socket.create_connection((cfg.sandbox_host, cfg.sandbox_port), timeout=1).close()
            return process
        time.sleep(0.1)
    process.kill()
    sys.exit("superapp: the sandbox of outside systems did not start")


async def _worker(cfg: Settings) -> None:
    from app_api.lifespan import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(cfg, start_worker=True):
        await stop.wait()


def _anchor(text: str) -> Any:
    from app_api.audit.checkpoint import parse_anchor

    try:
        return parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="superapp", description="Citizen super-app backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="API + sandbox + in-process worker (embedded mode)")
    serve.add_argument(
        "--workers",
        type=_positive,
        help="API processes (default: SUPERAPP_WORKERS, 1); above 1 they need a shared Redis",
    )
    sub.add_parser("sandbox", help="only the sandbox of outside systems, in its own process")
    sub.add_parser("worker", help="a separate job worker (production)")
    sub.add_parser("migrate", help="apply database migrations")
    seed_p = sub.add_parser("seed-demo", help="load the demo city")
    seed_p.add_argument("--seed", type=int, default=2026)
    seed_p.add_argument("--residents", type=int, default=2000)
    seed_p.add_argument("--enterprises", type=int, default=200)
    seed_p.add_argument("--if-empty", action="store_true", help="do nothing when residents exist")
    op = sub.add_parser("operator", help="manage operators").add_subparsers(
        dest="op_command", required=True
    )
    create = op.add_parser("create", help="create or update an operator")
    create.add_argument("--phone", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", action="append", default=[])
    notify = sub.add_parser("notify", help="messages to residents").add_subparsers(
        dest="notify_command", required=True
    )
    test = notify.add_parser("test", help="send a test message to a resident's inbox and phone")
    test.add_argument("--phone", required=True, help="the phone the resident signs in with")
    test.add_argument(
        "--urgent", action="store_true", help="urgent: by SMS too, and at once even at night"
    )
    oa = sub.add_parser("openapi", help="OpenAPI document").add_subparsers(
        dest="oa_command", required=True
    )
    export = oa.add_parser("export", help="write openapi/openapi.json")
    export.add_argument("--check", action="store_true", help="fail if the committed file differs")
    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser(
        "verify", help="verify the hash chain, record a signed checkpoint; exit 1 on tampering"
    )
    verify.add_argument(
        "--checkpoint",
        dest="anchors",
        metavar="SEQ:HASH",
        type=_anchor,
        action="append",
        default=[],
        help="a checkpoint printed by an earlier verification: the chain must still pass it",
    )
    args = parser.parse_args(argv)

    if args.command == "openapi":
        text = render_openapi()
        if args.check:
            if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text() != text:
                sys.exit("openapi/openapi.json is stale: run `superapp openapi export`")
            return
        OPENAPI_PATH.parent.mkdir(exist_ok=True)
        OPENAPI_PATH.write_text(text)
        print(f"wrote {OPENAPI_PATH}", file=sys.stderr)
        return
    cfg = _settings()
    if args.command == "worker" and cfg.is_fakeredis:
        sys.exit(
            "superapp: a separate worker needs a shared Redis (SUPERAPP_REDIS_URL); "
            "with the embedded fakeredis the worker runs inside `superapp serve`"
        )
    if args.command == "sandbox":
        asyncio.run(_sandbox_alone(cfg))
    elif args.command == "serve":
        if args.workers is not None:
            cfg = msgspec.structs.replace(cfg, workers=args.workers)
        # uvicorn re-raises Ctrl-C after its graceful shutdown; that is the normal way out.
        with contextlib.suppress(KeyboardInterrupt):
            if cfg.workers > 1:
                _serve_processes(cfg)
            else:
                asyncio.run(_serve(cfg))
    elif args.command == "worker":
        asyncio.run(_worker(cfg))
    elif args.command == "migrate":
        asyncio.run(db.migrate(cfg.database_url))
        print("migrations applied", file=sys.stderr)
    elif args.command == "seed-demo":
        from app_api.cli_admin import seed_demo

        asyncio.run(seed_demo(cfg, args))
    elif args.command == "operator":
        from app_api.cli_admin import create_operator

        asyncio.run(create_operator(cfg, args))
    elif args.command == "notify":
        from app_api.cli_admin import notify_test

        sys.exit(asyncio.run(notify_test(cfg, args)))
    elif args.command == "audit":
        from app_api.cli_admin import audit_verify

        sys.exit(asyncio.run(audit_verify(cfg, args.anchors)))
