"""The provincial gateway: one generic signed transport (:class:`Gateway`) under small typed
clients, one per upstream, each behind a ``typing.Protocol`` (see ``upstream.py``).

The core upstreams, population and enterprise, are declared here; mini-programs bring theirs.
"""

from integrations.provincial import enterprise, population
from integrations.provincial.errors import UpstreamError, UpstreamRejected, UpstreamUnavailable
from integrations.provincial.gateway import PREFIX, AuditHook, Fetched, Gateway
from integrations.provincial.policy import UpstreamPolicy
from integrations.provincial.upstream import Upstream, build_clients, client_of

# The upstreams app_api itself reads (real-name binding, profiles): always built.
CORE_UPSTREAMS: tuple[Upstream, ...] = (population.UPSTREAM, enterprise.UPSTREAM)

__all__ = [
    "CORE_UPSTREAMS",
    "PREFIX",
    "AuditHook",
    "Fetched",
    "Gateway",
    "Upstream",
    "UpstreamError",
    "UpstreamPolicy",
    "UpstreamRejected",
    "UpstreamUnavailable",
    "build_clients",
    "client_of",
]
