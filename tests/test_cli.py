"""The command line a user meets: helpful --help, documented verbs, clear errors, exit codes a workflow can use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from factory_bot.cli.app import cli

from .conftest import REPO, SPECS


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "factory_bot", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def all_commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += all_commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize("name,command", all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_with_a_summary_and_an_example(name: str, command: click.Command) -> None:
    text = command.help or ""
    assert text.strip(), f"{name} has no help"
    assert text.strip().splitlines()[0].endswith("."), f"{name}: the first line should be a one-line summary"
    if not isinstance(command, click.Group) or not command.commands:
        assert "Example" in text and "factory-bot" in text, f"{name}: show an example in --help"


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name, _ in all_commands() if f"factory-bot {name}" not in readme]
    assert not missing, f"document these in README.md: {missing}"


def test_help_and_version_work_without_node_or_a_token() -> None:
    assert run("--help").returncode == 0
    assert run("--version").stdout.startswith("factory-bot, version")


def test_a_bad_spec_exits_2_with_file_line_and_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPECS / "calculator.yaml").read_text().replace("version: 1.0.0", "version: one"))
    result = run("build", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{bad}:3: version: version 'one' is not semantic versioning" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is rendered from a spec that breaks the rules"


def test_building_a_directory_reports_every_bad_spec_with_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text((SPECS / "calculator.yaml").read_text().replace("version: 1.0.0", "version: one"))
    (tmp_path / "b.yaml").write_text((SPECS / "weather.yaml").read_text().replace("name: weather", "name: Weather"))
    result = run("build", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "2 problems" in result.stderr
    assert f"{tmp_path / 'a.yaml'}:3: version:" in result.stderr and f"{tmp_path / 'b.yaml'}:2: name:" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_spec_file_exits_2(tmp_path: Path) -> None:
    result = run("build", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read the file" in result.stderr


def test_build_needs_a_spec_or_a_request() -> None:
    result = run("build")
    assert result.returncode == 2 and "give a SPEC file or --request" in result.stderr


def test_schema_prints_the_committed_schema_and_check_detects_drift(tmp_path: Path) -> None:
    printed = run("schema")
    assert json.loads(printed.stdout) == json.loads((SPECS / "spec.schema.json").read_text())
    assert run("schema", "--check", str(SPECS / "spec.schema.json")).returncode == 0
    stale = tmp_path / "stale.json"
    stale.write_text("{}\n")
    result = run("schema", "--check", str(stale))
    assert result.returncode == 3 and "out of date" in result.stderr


def test_render_writes_only_the_source(tmp_path: Path) -> None:
    result = run("render", str(SPECS / "calculator.yaml"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calculator" / "src" / "tools" / "divide.ts").exists()
    assert not (tmp_path / "calculator" / "dist").exists()


@pytest.mark.e2e
def test_the_readme_build_command_with_a_relative_out_dir_writes_server_tgz_checksum_and_build_json(
    tmp_path: Path,
) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "calculator.yaml").write_text((SPECS / "calculator.yaml").read_text())
    result = run("build", "specs/calculator.yaml", "--out", "build/", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "build"
    assert (out / "calculator-1.0.0.tgz").exists()
    assert json.loads((out / "calculator.build.json").read_text())["ok"] is True
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["tools"] == ["add", "subtract", "multiply", "divide"]
    assert report == json.loads((out / "calculator.build.json").read_text())
    assert Path(report["tgz"]) == out / "calculator-1.0.0.tgz"
    assert (out / "calculator-1.0.0.tgz.sha256").read_text().split()[0] == report["sha256"]
    assert (
        json.loads(report["snippets"]["claude_desktop_config.json"])["mcpServers"]["calculator"]["command"]
        == "calculator"
    )
    assert report["snippets"]["claude mcp add"] == "claude mcp add calculator -- calculator"
    assert {c["name"] for c in report["checks"]} >= {
        "typescript",
        "protocol",
        "protocol-legacy",
        "examples",
        "installed-bin",
        "http",
        "dependencies",
    }
    assert all({"ok", "seconds", "message"} <= set(c) for c in report["checks"])


@pytest.mark.e2e
def test_a_failing_example_exits_1_and_names_the_tool(tmp_path: Path) -> None:
    spec = tmp_path / "calculator.yaml"
    spec.write_text((SPECS / "calculator.yaml").read_text().replace("output: 42", "output: 43"))
    result = run("build", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "FAIL  examples (multiply)" in result.stdout and "expected 43, got 42" in result.stdout
    assert not list((tmp_path / "out").glob("*.tgz"))


@pytest.mark.e2e
def test_validate_reports_drift_in_a_committed_server(tmp_path: Path) -> None:
    assert run("render", str(SPECS / "calculator.yaml"), "--out", str(tmp_path)).returncode == 0
    divide = tmp_path / "calculator" / "src" / "tools" / "divide.ts"
    divide.write_text(divide.read_text().replace("Division by zero", "nope"))
    result = run("validate", str(SPECS / "calculator.yaml"), "--server", str(tmp_path / "calculator"), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["drift"] == ["src/tools/divide.ts: differs from what the spec generates"]


@pytest.mark.e2e
def test_package_packs_a_built_server(tmp_path: Path, built) -> None:
    server_dir = built("calculator").server_dir
    result = run("package", str(server_dir), "--out", str(tmp_path), "--json", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sha256"] == built("calculator").sha256


@pytest.mark.e2e
def test_build_from_a_sentence_parses_with_claude_writes_the_spec_and_builds(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    from .fakes.messages_api import FakeMessagesAPI, tool_use

    spec = YAML(typ="safe").load((SPECS / "unit-converter.yaml").read_text())
    import os

    with FakeMessagesAPI([tool_use("submit_spec", spec)]) as api:
        env = os.environ | {"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": api.url}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "factory_bot",
                "build",
                "--request",
                "convert temperatures and lengths",
                "--out",
                str(tmp_path),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "unit-converter"
    written = (tmp_path / "unit-converter.spec.yaml").read_text()
    assert "written_by: model" in written, "model-written code is marked for reviewers"


def test_build_from_a_sentence_without_a_key_says_what_to_do(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "factory_bot", "build", "--request", "a weather server", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and "ANTHROPIC_API_KEY" in result.stderr and "yaml" in result.stderr.lower()
