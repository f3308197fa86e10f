"""The README's curl walkthrough, run verbatim against the real service started as the README does."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, LiveService, start_service


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- journey:start -->\s*```sh\n(.*?)```\s*<!-- journey:end -->", readme, re.S
    )
    assert block, "README lost its journey block"
    return block.group(1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = start_service(tmp_path_factory.mktemp("fresh"))
    yield service
    service.stop()


def test_readme_walkthrough_logs_in_sees_home_refreshes_and_logs_out(
    live: LiveService, tmp_path: Path
) -> None:
    script = (
        _walkthrough()
        .replace("http://127.0.0.1:8000", live.api)
        .replace("http://127.0.0.1:8001", live.sandbox)
    )
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr + live.log()
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    sent = json.loads(lines[0])
    assert sent == {"expires_in": 300, "resend_after": 60}
    me = json.loads(lines[1])
    assert me["phone"] == "138****0001" and me["name"] == "王**" and me["kind"] == "resident"
    profile = json.loads(lines[2])
    assert profile["district"]["label"] == "Sucheng District"
    assert re.fullmatch(r"3\*{16}[0-9X]", profile["id_number"])
    home = {card["id"]: card for card in json.loads(lines[3])["cards"]}
    assert (
        home["social_security"]["status"] == "ok" and "已缴" in home["social_security"]["summary"]
    )
    assert "下期还款" in home["housing_fund"]["summary"]  # 王建国 has a housing fund loan
    assert lines[4:] == ["204", "401"]


def test_ctrl_c_stops_api_sandbox_and_worker_cleanly(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    assert service.stop() == 0, service.log()
    assert "Traceback" not in service.log()


def test_the_demo_city_finds_its_policies_as_the_worker_starts(live: LiveService) -> None:
    """ "Policies finding people": a fresh `make run` matches the demo policies on its own."""
    auth = {"Authorization": f"Bearer {live.login('13800000007')}"}  # 赵桂兰, 80
    titles: list[str] = []
    for _ in range(100):  # the worker matches each demo policy once it starts
        found = httpx.get(f"{live.api}/api/v1/policies/matches", headers=auth).json()
        titles = [m["policy"]["title"] for m in found["items"]]
        if len(titles) == 2:
            break
        time.sleep(0.2)
    assert sorted(titles) == [
        "关于提高城乡居民基本养老保险基础养老金最低标准的通知",
        "宿迁市高龄津贴发放实施办法",
    ], live.log()
    home = httpx.get(f"{live.api}/api/v1/home", headers=auth).json()
    card = next(c for c in home["cards"] if c["id"] == "policy_push")
    assert card["summary"].startswith("为您找到2项政策")
