"""A faithful stand-in for the outside systems we cannot reach, for development and tests.

It speaks the same protocol as the real gateways (signed requests, their error envelopes)
and adds a development-only admin surface: the SMS outbox and fault injection.
"""

from integrations.sandbox.server import (
    FAULTS,
    PROVINCE,
    SMS,
    SandboxConfig,
    create_sandbox,
    run_sandbox,
)

__all__ = ["FAULTS", "PROVINCE", "SMS", "SandboxConfig", "create_sandbox", "run_sandbox"]
