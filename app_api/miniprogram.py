"""What app_api knows of mini-programs: they are found through an entry-point group.

The contract itself (``MiniProgram``, ``Subject``, ``Card``) lives in the ``miniprograms``
package so that mini-programs can import it without importing app_api.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import entry_points

from app_api.declarations import check_upstreams
from integrations.provincial import CORE_UPSTREAMS, Upstream
from miniprograms.contract import MiniProgram

GROUP = "superapp.miniprograms"


@cache
def installed() -> tuple[MiniProgram, ...]:
    """Every mini-program installed in this environment, in a stable order."""
    found: list[MiniProgram] = []
    for ep in entry_points(group=GROUP):
        program = ep.load()
        if not isinstance(program, MiniProgram):
            raise TypeError(f"entry point {ep.name} is not a MiniProgram")
        found.append(program)
    return tuple(sorted(found, key=lambda p: (p.order, p.slug)))


def upstreams(programs: Sequence[MiniProgram] | None = None) -> tuple[Upstream, ...]:
    """The provincial upstreams this service reads: the core ones and those each installed
    mini-program (or each of ``programs``) brings. A name taken twice stops start-up,
    naming who brought each."""
    found = [("core", spec) for spec in CORE_UPSTREAMS]
    for program in installed() if programs is None else programs:
        found.extend((f"mini-program {program.slug!r}", spec) for spec in program.upstreams)
    check_upstreams(found)
    return tuple(spec for _, spec in found)
