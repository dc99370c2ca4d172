"""Rendered servers match reviewed golden files, so a template change shows up as a readable diff.

Refresh on purpose with:  FACTORY_BOT_UPDATE_GOLDEN=1 python3 -m pytest tests/test_render_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from factory_bot.build.render import render_server, write_server
from factory_bot.spec.loader import load_spec_file

from .conftest import SPECS

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_SPECS = [
    "calculator",
    "weather",
    "notes",
    "chart",
    "feedback",
]  # code, http, resources and prompts, content, asks


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_rendered_server_matches_the_golden_files(name: str) -> None:
    files = render_server(load_spec_file(SPECS / f"{name}.yaml"))
    files.pop("package-lock.json")  # derived from the toolchain lock, checked in test_lockfile_is_the_toolchain_lock
    golden = GOLDEN / name
    if os.environ.get("FACTORY_BOT_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        for relative, text in files.items():
            (golden / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden / relative).write_text(text, encoding="utf-8")
    expected = {
        p.relative_to(golden).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(golden.rglob("*"))
        if p.is_file()
    }
    assert sorted(files) == sorted(expected), "files added or removed: refresh the golden files on purpose"
    for relative, text in files.items():
        assert text == expected[relative], f"{relative} changed: review the diff, then refresh the golden files"


def test_rendering_is_deterministic(example_spec) -> None:
    spec = example_spec("text-tools")
    assert render_server(spec) == render_server(spec)


def test_lockfile_is_the_toolchain_lock_with_the_servers_name() -> None:
    import json

    from factory_bot.build import toolchain

    spec = load_spec_file(SPECS / "calculator.yaml")
    lock = json.loads(render_server(spec)["package-lock.json"])
    theirs = toolchain.lockfile()
    assert lock["name"] == "calculator" and lock["packages"][""]["version"] == "1.0.0"
    assert {k: v for k, v in lock["packages"].items() if k} == {k: v for k, v in theirs["packages"].items() if k}


def test_rewriting_a_server_removes_tools_the_spec_no_longer_has(tmp_path: Path, example_spec) -> None:
    spec = example_spec("calculator")
    write_server(spec, tmp_path)
    smaller = spec.model_copy(update={"tools": spec.tools[:1]})
    write_server(smaller, tmp_path)
    assert sorted(p.name for p in (tmp_path / "src" / "tools").iterdir()) == ["add.ts"]


def test_a_rerender_removes_generated_files_the_spec_no_longer_needs_and_keeps_the_rest(tmp_path: Path) -> None:
    write_server(load_spec_file(SPECS / "feedback.yaml"), tmp_path)  # asks.ts, sessions, a tool
    (tmp_path / "src" / "mine.ts").write_text("export const mine = 1;\n")  # not generated: never ours to remove
    files = write_server(load_spec_file(SPECS / "calculator.yaml"), tmp_path)
    on_disk = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "src").rglob("*.ts")}
    assert on_disk == {f for f in files if f.startswith("src/") and f.endswith(".ts")} | {"src/mine.ts"}
    assert not (tmp_path / "src" / "asks.ts").exists()
