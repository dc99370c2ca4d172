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
        "bench": ["bench", CALCULATOR, "--quick", "--no-cold", "--repo-size", "0"],
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


def readme_blocks(heading: str) -> list[str]:
    """The ```sh blocks of one README section (up to the next heading of its level or above)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n")
    rest = text[start + len(heading) + 2 :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)]
    section = rest[: ends[0]] if ends else rest
    return re.findall(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


@pytest.fixture
def fresh_machine(tmp_path: Path):
    """A new user's shell: an empty HOME (no git identity, no toolchain cache), this venv's commands on PATH, npm's
    global prefix in a temp dir, and a stand-in `claude` that records what it was asked."""
    home, prefix, tools = tmp_path / "home", tmp_path / "npm-prefix", tmp_path / "tools"
    for directory in (home, prefix, tools, tmp_path / "tmp"):
        directory.mkdir()
    (tools / "claude").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "claude.log"}\n')
    (tools / "claude").chmod(0o755)
    # The machine's own settings (certificates, proxies) stay; whatever a user's setup would add goes.
    personal = ("HOME", "EMAIL", "XDG_", "GIT_AUTHOR", "GIT_COMMITTER", "FACTORY_", "GITHUB_", "ANTHROPIC_", "npm_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(personal)}
    venv_bin = str(Path(sys.executable).parent)
    yield env | {
        "HOME": str(home),
        "PATH": os.pathsep.join([venv_bin, str(prefix / "bin"), str(tools), os.environ["PATH"]]),
        "TMPDIR": str(tmp_path / "tmp"),  # where `mktemp -d` puts the demo
        "GIT_CONFIG_NOSYSTEM": "1",  # no identity from /etc/gitconfig either
        "npm_config_prefix": str(prefix),  # `npm install -g` lands here, not in the machine's prefix
    }


def untracked_and_changed() -> set[str]:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True, text=True
    )
    return set(status.stdout.splitlines())


def run_verbatim(script: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.e2e
def test_the_readme_commands_work_verbatim_on_a_fresh_machine_and_leave_the_checkout_clean(
    tmp_path: Path, fresh_machine: dict[str, str]
) -> None:
    try_it = readme_blocks("## Try it")
    assert len(try_it) == 3 and "pytest" in try_it[2], "Try it: build, install and use, run the tests"
    offline = [b for b in readme_blocks("## Publishing through git") if "--forge local" in b]
    assert len(offline) == 1, "one local-forge walkthrough"
    env = fresh_machine
    before = untracked_and_changed()
    had_build = (REPO / "build").exists()  # Try it builds into build/ (ignored, and asked for): tidy it after
    try:
        run_readme_stories(try_it, offline[0], env, tmp_path)
    finally:
        if not had_build:
            shutil.rmtree(REPO / "build", ignore_errors=True)
    assert untracked_and_changed() == before, "the README's commands wrote into the checkout"


def run_readme_stories(try_it: list[str], offline: str, env: dict[str, str], tmp_path: Path) -> None:
    """Try it (build, then install and wire into a client) in the checkout; the walkthrough from specs/."""
    for block in try_it[:2]:  # the third is the test command this test runs under
        result = run_verbatim(block, cwd=REPO, env=env)
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "npm-prefix" / "bin" / "calculator").exists(), "npm install -g put the command on PATH"
    assert "mcp add calculator -- calculator" in (tmp_path / "claude.log").read_text()

    # The walkthrough runs from a subdirectory of the checkout: "anywhere inside your clone".
    result = run_verbatim(offline, cwd=REPO / "specs", env=env)
    said = result.stdout + result.stderr
    assert result.returncode == 0, f"{offline}\n{said}"
    assert "Author identity unknown" not in said
    assert re.search(r"pull request #\d+: .*/demo#pull/\d+\n  see it: git -C demo log --stat HEAD..factory/calc", said)
    assert "released: calculator-v1.0.0" in said and '"command": "calculator"' in result.stdout
    demo = next((tmp_path / "tmp").glob("*/demo"))
    assert (demo / ".git" / "mcp-factory" / "releases" / "calculator-v1.0.0" / "calculator-1.0.0.tgz").exists()


CONVERTER = """\
name: conv
version: 1.0.0
description: Converts.
tools:
  - name: convert
    description: Convert.
    input:
      value: {type: number, description: v}
      unit: {type: string, enum: [c, f], description: u}
    implementation:
      kind: code
      code: return value;
    examples:
      - {input: {value: 1, unit: c}, output: 1}
      - input:
          value: 2
          unit: kelvin
        output: 2
"""


def test_an_example_that_contradicts_its_input_enum_is_reported_at_the_example_not_the_tool() -> None:
    from factory_bot.errors import SpecError
    from factory_bot.spec.loader import load_spec_text

    with pytest.raises(SpecError) as caught:
        load_spec_text(CONVERTER, source="spec.yaml")
    said = str(caught.value)
    assert "spec.yaml:17:17: tools[0]: examples[1].input does not match" in said, said
    assert "'kelvin' is not one of ['c', 'f']" in said
    assert "spec.yaml:5:" not in said, "the example's line and column, not the tool's line"
    fixed = load_spec_text(CONVERTER.replace("kelvin", "f"), source="spec.yaml")
    assert [e.input["unit"] for e in fixed.tools[0].examples] == ["c", "f"]


def test_an_example_of_the_wrong_type_is_reported_at_its_value(tmp_path: Path) -> None:
    spec = tmp_path / "conv.yaml"
    spec.write_text(CONVERTER.replace("{value: 1, unit: c}", "{value: one, unit: c}").replace("kelvin", "f"))
    result = factory_bot(
        "render", str(spec), "--out", str(tmp_path / "out"), path=Path(os.environ["PATH"]), cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"{spec}:14:25: tools[0]: examples[0].input does not match" in result.stderr, result.stderr
    assert "'one' is not of type 'number'" in result.stderr


def test_on_actions_the_example_error_annotation_lands_on_its_line_and_column(tmp_path: Path) -> None:
    from factory_bot.cli import actions
    from factory_bot.errors import SpecError
    from factory_bot.spec.loader import load_spec_file

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "conv.yaml").write_text(CONVERTER)
    with pytest.raises(SpecError) as caught:
        load_spec_file(tmp_path / "specs" / "conv.yaml")
    [annotation] = actions.spec_annotations(caught.value, {"GITHUB_WORKSPACE": str(tmp_path)})
    assert annotation.startswith("::error file=specs/conv.yaml,line=17,col=17,title="), annotation


@pytest.mark.e2e
def test_a_long_tmpdir_still_builds_http_servers_through_the_sandbox_sockets(tmp_path: Path) -> None:
    long_tmp = tmp_path / ("a-long-temporary-directory-" * 3)  # unix socket paths stop at 107 bytes
    long_tmp.mkdir()
    assert len(str(long_tmp)) > 107 - len("/mcp-factory-jail-xxxxxxxx/sockets/mcp.sock")
    env = os.environ | {"TMPDIR": str(long_tmp)}
    result = subprocess.run(
        [sys.executable, "-m", "factory_bot", "build", str(SPECS / "weather.yaml"), "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AF_UNIX" not in result.stderr and "pass  http " in result.stdout and "pass  examples" in result.stdout
