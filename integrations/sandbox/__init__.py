"""A faithful stand-in for the outside systems we cannot reach, for development and tests.

It speaks the same protocol as the real gateways (signed requests, their error envelopes)
and adds a development-only admin surface: the SMS outbox and fault injection. The
provincial upstreams it plays are the ones it is given, each through the sandbox handler its
``Upstream`` declaration names (see ``kit.py``).
"""

from integrations.sandbox.fcm import FCM, FakeFcm
from integrations.sandbox.google_oauth import (
    development_service_account,
    is_development_service_account,
)
from integrations.sandbox.server import (
    FAULTS,
    SMS,
    UPSTREAMS,
    SandboxConfig,
    create_sandbox,
    run_sandbox,
)

__all__ = [
    "FAULTS",
    "FCM",
    "SMS",
    "UPSTREAMS",
    "FakeFcm",
    "SandboxConfig",
    "create_sandbox",
    "development_service_account",
    "is_development_service_account",
    "run_sandbox",
]
