"""The ``superapp`` commands that work on the stored data: ``seed-demo``, ``operator create``,
``notify test`` and ``audit verify``. Each opens the process the way ``serve`` does (:mod:`app_api.lifespan`),
but leaves logging unconfigured: an operator reads their plain result lines, no JSON log."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from app_api.lifespan import running
from app_api.settings import Settings


async def seed_demo(cfg: Settings, args: argparse.Namespace) -> None:
    """``superapp seed-demo``: load the demo city (or nothing, with ``--if-empty``, once loaded)."""
    from app_api.demo import seed
    from app_api.identity.models import Resident

    async with running(cfg, configure_logs=False) as (services, _jobs):
        if args.if_empty and await Resident.exists():
            print("demo city already loaded; nothing to do", file=sys.stderr)
            return
        counts = await seed(
            services.vault,
            seed=args.seed,
            residents=args.residents,
            enterprises=args.enterprises,
        )
        print(json.dumps(counts, ensure_ascii=False))


async def create_operator(cfg: Settings, args: argparse.Namespace) -> None:
    """``superapp operator create``: create an operator, or update the one with that phone."""
    from app_api.identity.models import ROLES, Operator
    from app_api.identity.numbers import NumberError, validate_phone

    bad = [r for r in args.role if r not in ROLES]
    if bad or not args.role:
        sys.exit(f"superapp: roles must be among {', '.join(ROLES)}")
    try:
        phone = validate_phone(args.phone)
    except NumberError:
        sys.exit("superapp: --phone must be an 11-digit mainland mobile number")
    async with running(cfg, configure_logs=False):
        operator, created = await Operator.get_or_create(
            phone=phone, defaults={"name": args.name, "roles": []}
        )
        operator.name, operator.roles, operator.active = args.name, sorted(set(args.role)), True
        await operator.save()
        verb = "created" if created else "updated"
        print(
            json.dumps(
                {"id": str(operator.id), verb: True, "roles": operator.roles}, ensure_ascii=False
            )
        )
        print(
            "They sign in with their phone (portal=operator) and must set up TOTP first.",
            file=sys.stderr,
        )


async def notify_test(cfg: Settings, args: argparse.Namespace) -> int:
    """``superapp notify test``: a test message to one resident's inbox and phone, to check
    that messages reach people (after a deployment, or on a new phone). The running service's
    dispatcher sends it; this prints what was queued, on which channels and from when."""
    from tortoise.transactions import in_transaction

    from app_api.identity.models import Resident
    from app_api.identity.numbers import NumberError, validate_phone
    from app_api.notices import TEST_TEMPLATE
    from notifications.models import Delivery, Notification

    try:
        phone = validate_phone(args.phone)
    except NumberError:
        sys.exit("superapp: --phone must be an 11-digit mainland mobile number")
    async with running(cfg, configure_logs=False) as (services, _jobs):
        resident = await Resident.get_or_none(phone=phone)
        if resident is None:
            print("superapp: nobody has signed in with that phone", file=sys.stderr)
            return 1
        key = f"test:{resident.id}:{secrets.token_hex(6)}"  # every run is a new message
        async with in_transaction():  # the message and its deliveries, or nothing
            await services.outbox.notify(
                str(resident.id),
                "service_status",
                TEST_TEMPLATE,
                {},
                key,
                priority="urgent" if args.urgent else "normal",
                link="/api/v1/notifications",
            )
        note = await Notification.get(idempotency_key=key)
        queued = await Delivery.filter(notification_id=note.id).order_by("channel")
        print(
            json.dumps(
                {
                    "notification": str(note.id),
                    "channels": {d.channel: d.not_before.isoformat() for d in queued},
                },
                ensure_ascii=False,
            )
        )
        if not queued:
            print("No phone channel: the message is in their inbox only.", file=sys.stderr)
    return 0


async def audit_verify(cfg: Settings, anchors: list[Any]) -> int:
    """``superapp audit verify``: walk the chain, record a checkpoint; the exit code (1: broken)."""
    async with running(cfg, configure_logs=False) as (services, _jobs):
        report = await services.audit.verify_and_checkpoint("verify", anchors)
    checkpoint = str(report.checkpoint) if report.checkpoint else None
    print(
        json.dumps(
            {
                "ok": report.ok,
                "checked": report.checked,
                "bad_seq": report.bad_seq,
                "problem": report.problem,
                "checkpoint": checkpoint,
            }
        )
    )
    if checkpoint:
        print(
            f"checkpoint {checkpoint} recorded; keep a copy outside this database and pass it "
            "back with --checkpoint to prove the newest rows are still there",
            file=sys.stderr,
        )
    return 0 if report.ok else 1
