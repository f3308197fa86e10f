"""One upstream behind the provincial gateway, declared once: its name, how its typed client
is built, where its sandbox handler lives, and how patiently it is treated.

The core upstreams (population, enterprise) are declared in this package; a mini-program
that reads an upstream of its own declares it in its ``upstream.py`` and lists it in its
``MiniProgram(upstreams=...)``. Callers hold a typed client behind a ``typing.Protocol``,
found by name with :func:`client_of`; none of them names a concrete client class.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from integrations.provincial.gateway import Gateway
from integrations.provincial.policy import UpstreamPolicy

P = TypeVar("P")


@dataclass(frozen=True)
class Upstream:
    """An upstream of the provincial gateway.

    ``sandbox`` is the import path (``"module:routes"``) of the sandbox handler that plays
    this upstream (``def routes(kit) -> list[web.RouteDef]``, see ``integrations.sandbox.kit``):
    a string, so that production code never imports sandbox code. ``None`` for an upstream
    the sandbox does not play.
    """

    name: str  # also the fault board's key and the audit actions' middle part
    client: Callable[[Gateway], object]  # builds the typed client over the gateway
    sandbox: str | None = None
    policy: UpstreamPolicy = field(default_factory=UpstreamPolicy)


def build_clients(gateway: Gateway, upstreams: Iterable[Upstream]) -> dict[str, object]:
    """Add each upstream to the gateway and build its client: upstream name -> client.

    Two upstreams with one name would share a breaker, cache keys and sandbox routes, and
    one client would silently replace the other: refused.
    """
    clients: dict[str, object] = {}
    for spec in upstreams:
        if spec.name in clients:
            raise ValueError(f"two provincial upstreams are named {spec.name!r}")
        gateway.add_upstream(spec.name, spec.policy)
        clients[spec.name] = spec.client(gateway)
    return clients


def client_of(clients: Mapping[str, object], name: str, protocol: type[P]) -> P:
    """The client of upstream ``name``, checked against its (runtime-checkable) Protocol."""
    client = clients.get(name)
    if client is None:
        raise LookupError(f"no client for the provincial upstream {name!r} was built")
    # isinstance against a runtime-checkable Protocol inspects every member (~20 µs), and a
    # home screen asks on every card: each client is checked once per Protocol.
    try:
        known = _CONFORMING.setdefault(client, set())
    except TypeError:  # neither hashable nor weakly referable: check every time
        known = set()
    if protocol not in known:
        if not isinstance(client, protocol):
            raise TypeError(f"the client of {name!r} does not provide {protocol.__name__}")
        known.add(protocol)
    return cast(P, client)


# client -> the Protocols it was found to provide (forgotten with the client).
_CONFORMING: weakref.WeakKeyDictionary[object, set[type]] = weakref.WeakKeyDictionary()
