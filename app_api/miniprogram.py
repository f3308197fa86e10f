"""What app_api knows of mini-programs: they are found through an entry-point group.

The contract itself (``MiniProgram``, ``Subject``, ``Card``) lives in the ``miniprograms``
package so that mini-programs can import it without importing app_api.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

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
