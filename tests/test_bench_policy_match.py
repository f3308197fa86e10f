"""bench.policy_match runs end to end on a small SQLite table: the compiled and the
hand-written filters select the same rows, Python agrees on them, and the ratios are printed.
No timing threshold: the figures are for a person to read, not for CI to judge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import policy_match


def test_the_bench_matches_the_same_rows_three_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path}/bench_policy.sqlite3"
    argv = ["--database-url", url, "--rows", "2000", "--policies", "20", "--repeat", "1"]
    argv += ["--on", "2026-02-28"]

    assert policy_match.main(argv) == 0

    out = capsys.readouterr().out
    assert "compiled and hand-written select the same rows: yes" in out
    assert "python agrees with the compiled filter on the 2,000 sampled rows: yes" in out
    matches = re.search(r"matches: ([\d,]+)", out)
    assert matches and int(matches[1].replace(",", "")) > 0  # the rule selects someone
    assert re.search(r"ratio compiled/hand: \d", out)
    assert re.search(r"ratio python/compiled: [\d,]+x", out)
    assert "one person against 20 policies" in out
    assert re.search(r"texts=True .* ms per person against 1,000", out)
    assert re.search(r"fast path  : .* ms per person against 1,000", out)
    assert re.search(r"ratio evaluate/fast: texts=False [\d,]+x, texts=True [\d,]+x", out)
    assert "fast path agrees with evaluate on all 20 answers: yes" in out
