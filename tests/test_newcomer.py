"""A newcomer's first hour: a machine without node says what to install (exit 3, every verb), and what the bot
prints about a build points at files that exist and at time where it was spent."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, SPECS

CALCULATOR = str(SPECS / "calculator.yaml")


def bin_dir(tmp_path: Path, *commands: str) -> Path:
    """A PATH directory with python3, git and the given commands only."""
    path = tmp_path / "bin"
    path.mkdir(exist_ok=True)
    (path / "python3").symlink_to(sys.executable)
    (path / "git").symlink_to(shutil.which("git"))
    for command in commands:
        (path / command).symlink_to(shutil.which(command))
    return path


def factory_bot(*args: str, path: Path, cwd: Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FACTORY_BOT_CACHE", "GITHUB_TOKEN", "ANTHROPIC_API_KEY")}
    env["PATH"] = str(path)
    if cache is not None:
        env["FACTORY_BOT_CACHE"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "factory_bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def verbs_that_need_node(tmp_path: Path) -> dict[str, list[str]]:
    event = tmp_path / "issue.json"
    event.write_text(json.dumps({"issue": {"number": 1, "title": "Calculator", "body": "a calculator"}}))
    work = tmp_path / "work"
    return {
        "build": ["build", CALCULATOR, "--out", str(tmp_path / "out")],
        "validate": ["validate", CALCULATOR],
        "package": ["package", str(tmp_path)],
        "on-issue --stage build": ["on-issue", "--stage", "build", "--workdir", str(work), "--event", str(event)],
        "bench": ["bench", CALCULATOR, "--quick", "--no-cold", "--repo", "0"],
        "doctor": ["doctor"],
    }


@pytest.mark.parametrize("cache", ["cache present", "cache absent"])
@pytest.mark.parametrize("missing", ["node and npm", "npm"])
def test_without_node_or_npm_every_verb_exits_3_and_says_what_to_install(
    tmp_path: Path, cache: str, missing: str
) -> None:
    path = bin_dir(tmp_path, *(["node"] if missing == "npm" else []))
    cache_dir = None if cache == "cache present" else tmp_path / "empty-cache"
    for verb, args in verbs_that_need_node(tmp_path).items():
        result = factory_bot(*args, path=path, cwd=tmp_path, cache=cache_dir)
        said = result.stdout + result.stderr
        assert result.returncode == 3, f"{verb} ({missing} missing, {cache}): exit {result.returncode}\n{said}"
        assert "Traceback" not in said and "ExceptionGroup" not in said, f"{verb}: {said}"
        assert "install Node.js 20 or newer with npm" in said, f"{verb} does not say what to install: {said}"
        if verb != "doctor":
            assert f"error: {missing} " in result.stderr, f"{verb}: {result.stderr}"
    assert not (tmp_path / "out").exists(), "nothing is built without node"


def test_validate_names_no_file_it_deleted(tmp_path: Path) -> None:
    result = factory_bot("validate", CALCULATOR, path=Path(os.environ["PATH"]), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "calculator 1.0.0 is valid" in result.stdout and "nothing was kept" in result.stdout
    for shown in re.findall(r"(?:^|\s)(/[^\s()]+)", result.stdout, re.MULTILINE):
        assert Path(shown.rstrip(",.:;")).exists(), (
            f"validate printed {shown}, which it already deleted:\n{result.stdout}"
        )
    assert "factory-validate-" not in result.stdout


def test_a_first_build_puts_the_toolchain_install_in_the_toolchain_stage(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = factory_bot(
        "build", CALCULATOR, "--out", str(out), path=Path(os.environ["PATH"]), cwd=tmp_path, cache=tmp_path / "cache"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    installed = float(re.search(r"toolchain ready in ([\d.]+) s", result.stderr).group(1))
    shown = float(re.search(r"timings: toolchain ([\d.]+) s", result.stdout).group(1))
    recorded = json.loads((out / "calculator.build.json").read_text())["timings"]
    assert shown >= installed and recorded["toolchain"] >= installed, (installed, shown, recorded)
    assert recorded["total"] >= recorded["toolchain"]
    assert REPO.exists()
