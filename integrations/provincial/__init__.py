"""Client of the provincial gateway: the one place any mini-program reads provincial data from."""

from integrations.provincial.client import AuditHook, Fetched, ProvincialClient
from integrations.provincial.errors import UpstreamError, UpstreamRejected, UpstreamUnavailable
from integrations.provincial.policy import UpstreamPolicy

__all__ = [
    "AuditHook",
    "Fetched",
    "ProvincialClient",
    "UpstreamError",
    "UpstreamPolicy",
    "UpstreamRejected",
    "UpstreamUnavailable",
]
