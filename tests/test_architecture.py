"""The house plan's arrows: app_api knows no concrete mini-program; mini-programs know no app_api
and not each other; the lower rooms import nothing of ours above them; models match migrations."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from app_api.miniprogram import installed

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {p.slug for p in installed()}


def _imports(folder: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path] = names
    return found


def test_app_api_imports_no_concrete_mini_program() -> None:
    for path, names in _imports("app_api").items():
        bad = {
            n
            for n in names
            if n.split(".")[0] == "miniprograms"
            and n.split(".")[1:2]
            and n.split(".")[1] in PROGRAMS
        }
        assert not bad, f"{path} imports {bad}"


def test_mini_programs_import_neither_app_api_nor_each_other() -> None:
    assert {"social_security", "housing_fund"} <= PROGRAMS
    for slug in PROGRAMS:
        for path, names in _imports(f"miniprograms/{slug}").items():
            for name in names:
                parts = name.split(".")
                assert parts[0] != "app_api", f"{path} imports {name}"
                if parts[0] == "miniprograms" and len(parts) > 1 and parts[1] in PROGRAMS:
                    assert parts[1] == slug, f"{path} imports {name}"


LOWER_ROOMS = ("integrations", "notifications", "accessibility")


def test_lower_rooms_import_nothing_above_them_nor_beside_them() -> None:
    """integrations, notifications and accessibility import nothing of ours but the catalogs;
    the catalogs import nothing of ours at all."""
    for room in (*LOWER_ROOMS, "locales"):
        ours = {"app_api", "miniprograms", *LOWER_ROOMS, "locales"} - {room}
        if room != "locales":
            ours.discard("locales")
        for path, names in _imports(room).items():
            assert not {n for n in names if n.split(".")[0] in ours}, f"{path} imports {names}"


def test_the_shared_mini_program_modules_import_no_app_api_and_no_program() -> None:
    """contract, common and access are what every program builds on: they import neither
    the app above nor any program beside them."""
    for path, names in _imports("miniprograms").items():
        if path.parent.name != "miniprograms":
            continue
        for name in names:
            parts = name.split(".")
            assert parts[0] not in ("app_api", "tests"), f"{path} imports {name}"
            assert parts[0] != "miniprograms" or parts[1] not in PROGRAMS, f"{path}: {name}"


@pytest.mark.parametrize("folder", ["tests/city_library", "tests/newcomer_parking"])
def test_the_throwaway_programs_import_no_app_api(folder: str) -> None:
    for path, names in _imports(folder).items():
        assert not {n for n in names if n.split(".")[0] == "app_api"}, path
        assert not {
            n for n in names if n.split(".")[0] == "miniprograms" and n.split(".")[1] in PROGRAMS
        }, path


def test_every_mini_program_has_the_same_shape() -> None:
    for slug in PROGRAMS:
        files = {p.name for p in (ROOT / "miniprograms" / slug).glob("*.py")}
        assert {"routes.py", "service.py", "models.py", "schemas.py", "card.py"} <= files, slug


def test_models_and_committed_migrations_agree(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tortoise", "-c", "app_api.dbconfig.TORTOISE_ORM", "makemigrations"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SUPERAPP_DATABASE_URL": f"sqlite://{tmp_path}/m.sqlite3"},
        capture_output=True,
        text=True,
    )
    assert "No changes detected" in run.stdout, run.stdout + run.stderr
