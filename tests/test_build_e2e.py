"""A user builds each bundled spec and gets a package that installs with npm and answers a real MCP client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build import npm_install, protocol
from factory_bot.build.pipeline import build
from factory_bot.spec.loader import load_spec_text

from .conftest import EXAMPLE_SPECS

pytestmark = pytest.mark.e2e


def npm_install_global(tgz: Path, prefix: Path) -> Path:
    npm_install.npm_install(tgz, prefix, timeout=180)
    return prefix / "bin"


async def call(
    command: str, tool: str, arguments: dict[str, Any], *, env: dict[str, str] | None = None, mode: str = "auto"
) -> Any:
    async with Client(StdioServerParameters(command=command, env=env), mode=mode) as client:
        return await client.call_tool(tool, arguments)


@pytest.mark.parametrize("name", EXAMPLE_SPECS)
def test_every_bundled_spec_builds_into_a_valid_package(name: str, built) -> None:
    result = built(name)
    failures = [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
    assert result.ok, failures
    assert result.tgz is not None and result.tgz.name == f"{name}-{result.spec.version}.tgz"
    assert (result.tgz.parent / f"{result.tgz.name}.sha256").read_text().startswith(result.sha256)
    names = {c.name for c in result.report.checks}
    assert {
        "typescript",
        "bundle",
        "protocol",
        "protocol-legacy",
        "installed-bin",
        "http",
        "http-host-check",
        "dependencies",
    } <= names
    examples = [c for c in result.report.checks if c.name == "examples"]
    assert len(examples) == sum(1 for t in result.spec.tools if t.examples)


def test_an_npm_install_that_hangs_is_retried_once_and_then_installs(built, tmp_path: Path, monkeypatch) -> None:
    """npm has hung, rarely, on a loaded machine; the installed-bin check retries a hang instead of failing."""
    import shutil

    tgz, real_npm, calls = built("calculator").tgz, shutil.which("npm"), tmp_path / "calls"
    fake = tmp_path / "fakebin" / "npm"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\necho x >> {calls}\n[ "$(wc -l < {calls})" -gt 1 ] || exec sleep 600\nexec {real_npm} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    npm_install.npm_install(tgz, tmp_path / "prefix", timeout=5)
    assert calls.read_text().count("x") == 2
    assert (tmp_path / "prefix" / "bin" / "calculator").exists()


def test_installed_calculator_adds_and_refuses_to_divide_by_zero(built, tmp_path: Path) -> None:
    bin_dir = npm_install_global(built("calculator").tgz, tmp_path / "prefix")
    command = str(bin_dir / "calculator")

    added = anyio.run(call, command, "add", {"a": 2, "b": 3})
    assert added.is_error is False and added.structured_content == {"result": 5}
    assert json.loads(added.content[0].text) == 5

    divided = anyio.run(call, command, "divide", {"a": 1, "b": 0})
    assert divided.is_error is True and divided.content[0].text == "Division by zero"

    legacy = anyio.run(lambda: call(command, "multiply", {"a": 6, "b": 7}, mode="legacy"))
    assert legacy.structured_content == {"result": 42}


def test_calculator_reads_its_declared_environment(built, tmp_path: Path) -> None:
    entry = built("calculator").server_dir / "dist" / "index.js"
    rounded = anyio.run(_call_args, ["node", str(entry)], "divide", {"a": 2, "b": 3}, {"CALC_PRECISION": "2"})
    assert rounded.structured_content == {"result": 0.67}


async def _call_args(argv: list[str], tool: str, arguments: dict[str, Any], env: dict[str, str]) -> Any:
    async with Client(StdioServerParameters(command=argv[0], args=argv[1:], env=env)) as client:
        return await client.call_tool(tool, arguments)


class FakeOpenMeteo:
    """A local HTTP API standing in for Open-Meteo; records every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                if self.path.startswith("/v1/forecast"):
                    body = {"current_weather": {"temperature": 21.5, "windspeed": 3.0}}
                else:
                    body = {"results": [{"name": "Zürich", "latitude": 47.37, "longitude": 8.55}]}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def test_weather_http_tools_call_the_api_their_base_url_env_points_at(built, tmp_path: Path) -> None:
    api = FakeOpenMeteo()
    try:
        bin_dir = npm_install_global(built("weather").tgz, tmp_path / "prefix")
        env = {"WEATHER_API_BASE_URL": api.url, "WEATHER_GEOCODING_BASE_URL": api.url}
        weather = anyio.run(
            lambda: _call_args(
                [str(bin_dir / "weather")],
                "current_weather",
                {"latitude": 47.37, "longitude": 8.55, "unit": "fahrenheit"},
                env,
            )
        )
        assert weather.is_error is False
        assert json.loads(weather.content[0].text)["current_weather"]["temperature"] == 21.5
        city = anyio.run(lambda: _call_args([str(bin_dir / "weather")], "find_city", {"name": "Zürich & Co"}, env))
        assert city.structured_content["results"][0]["name"] == "Zürich"
    finally:
        api.server.shutdown()
    forecast, search = api.requests
    assert forecast == "/v1/forecast?latitude=47.37&longitude=8.55&current_weather=true&temperature_unit=fahrenheit"
    assert search == "/v1/search?name=Z%C3%BCrich+%26+Co&count=1"


BROKEN = """\
name: broken
version: 0.1.0
description: A server whose tool does not compile.
tools:
  - name: fine
    description: Works.
    implementation: {kind: code, code: "return 1;"}
  - name: shout
    description: Upper-cases text.
    input:
      text: {type: string}
    output: {type: number}
    implementation:
      kind: code
      code: |
        const loud = text.toUpperCase();
        return loud;
"""


def test_a_compile_error_in_a_tools_code_is_reported_against_that_tool(tmp_path: Path) -> None:
    result = build(load_spec_text(BROKEN), tmp_path)
    [failure] = result.report.failures
    assert failure.name == "typescript" and failure.tool == "shout"
    assert any("tools[1].implementation.code line 2" in d and "TS2322" in d for d in failure.details)
    assert result.tgz is None and not list(tmp_path.glob("*.tgz"))


WRONG_EXAMPLE = (
    BROKEN.replace("output: {type: number}", "output: {type: string}")
    + """\
    examples:
      - {input: {text: hi}, output: "hi"}
"""
)


def test_an_example_that_fails_fails_the_build_and_nothing_is_packaged(tmp_path: Path) -> None:
    result = build(load_spec_text(WRONG_EXAMPLE), tmp_path)
    [failure] = result.report.failures
    assert failure.name == "examples" and failure.tool == "shout"
    assert 'expected "hi", got "HI"' in failure.details[0]
    assert result.tgz is None and not list(tmp_path.glob("*.tgz"))


HANGS = """\
name: hangs
version: 0.1.0
description: A tool that never returns, and spawns a child that would outlive it.
tools:
  - name: spin
    description: Loops forever.
    implementation:
      kind: code
      code: |
        const { spawn } = await import("node:child_process");
        spawn("sleep", ["300"], { stdio: "ignore" });
        for (;;) {}
    examples:
      - {input: {}}
"""


def test_a_tool_that_hangs_is_killed_with_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "CALL_TIMEOUT", 2.0)
    before = _sleepers()
    result = build(load_spec_text(HANGS), tmp_path)
    [failure] = [c for c in result.report.failures if c.name == "examples"]
    assert failure.tool == "spin" and "no answer within 2 s" in failure.details[0]
    assert _sleepers() - before == set(), "a child of the generated server outlived validation"


def _sleepers() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "^sleep 300$"], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


SECRETS = """\
name: secrets
version: 0.1.0
description: A tool that reports the secrets it can see.
tools:
  - name: leak
    description: Names every secret-looking variable, and HOME.
    implementation:
      kind: code
      code: |
        return Object.keys(process.env).filter((k) => /TOKEN|KEY|SECRET/.test(k)).join(",") + "|" + process.env.HOME;
    examples:
      - {input: {}, output: "|"}
"""


def test_generated_code_runs_without_the_bots_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    result = build(load_spec_text(SECRETS), tmp_path)
    [check] = [c for c in result.report.checks if c.name == "examples"]
    # The example expects "|"; the failure message shows what the code really saw: no secret-looking name
    # before the "|", and a HOME of the sandbox's own after it. (Without the comparison there is no message.)
    assert "GITHUB_TOKEN" not in " ".join(check.details) and "ANTHROPIC_API_KEY" not in " ".join(check.details)
    assert str(Path.home()) not in " ".join(check.details)
    [detail] = check.details
    seen = re.fullmatch(r'examples\[0\] \{\}: expected "\|", got "\|(/[^"|]+)"', detail)
    assert seen, detail
    assert seen.group(1) != str(Path.home())


# Two builds of one spec make the same bytes, file by file: test_publish_trusted_rebuild.py (other directories,
# caches and umasks), which a second build here would only repeat.


def test_the_package_ships_only_the_bundle_and_runs_on_node_20(built) -> None:
    result = built("text-tools")
    assert result.package is not None
    files = ["LICENSE", "README.md", "dist/index.js", "dist/server.cjs", "dist/server.cjs.map", "package.json"]
    assert result.package.files == files
    head = (result.server_dir / "dist" / "index.js").read_text().splitlines()[0]
    assert head == "#!/usr/bin/env node"
    manifest = json.loads((result.server_dir / "package.json").read_text())
    assert manifest["engines"] == {"node": ">=20.3"} and "dependencies" not in manifest
    assert os.access(result.server_dir / "dist" / "index.js", os.R_OK)


GREEDY = """\
name: greedy
version: 0.1.0
description: A tool that allocates without end.
tools:
  - name: hoard
    description: Fills memory.
    implementation:
      kind: code
      code: |
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
    examples:
      - {input: {}}
"""


def test_a_tool_that_eats_memory_hits_the_heap_cap_and_fails_the_build(tmp_path: Path) -> None:
    result = build(load_spec_text(GREEDY), tmp_path)
    failed = {c.name for c in result.report.failures}
    assert "protocol" in failed, "the session dies when the server runs out of its capped heap"
    [check] = [c for c in result.report.failures if c.name == "protocol"]
    assert any("heap" in d.lower() for d in check.details), check.details
    assert result.tgz is None
