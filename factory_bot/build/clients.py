"""Client configuration snippets for a server: Claude Desktop, Claude Code, .mcp.json, Cursor and VS Code."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factory_bot.spec.model import ServerSpec

# Each client `registry install` knows, and the snippet (a key of `snippets()`) it prints for it.
CLIENTS = {"claude-desktop": "claude_desktop_config.json", "claude-code": "claude mcp add", "mcp-json": ".mcp.json"}


def _json(value: object) -> str:
    # The snippets sit in Markdown code fences: a backtick in a description must not close the fence.
    return json.dumps(value, indent=2, ensure_ascii=True).replace("`", "\\u0060")


def _env_placeholders(spec: ServerSpec) -> dict[str, str]:
    # Only what the user must set; optional variables keep their defaults.
    return {e.name: f"<{e.name}>" for e in spec.env if e.required}


def install_command(spec: ServerSpec, tgz: str | None = None) -> str:
    """How to install the server's command from its packed tarball (path or URL).

    --ignore-scripts: a package never needs to run anything to install. A local path starts with `./` (or `/`),
    since npm reads `build/x.tgz` as the GitHub repository `build/x.tgz`.
    """
    where = tgz or f"{spec.name}-{spec.version}.tgz"
    if "://" not in where and not where.startswith(("/", "./", "../", "~")):
        where = f"./{where}"
    return f"npm install -g {shlex.quote(where)} --ignore-scripts"


def npx_command(spec: ServerSpec) -> list[str]:
    """The command that runs the published npm package without installing it."""
    return ["npx", "-y", spec.npm_package]


def snippets(spec: ServerSpec, command: list[str] | None = None) -> dict[str, str]:
    """Config snippets, keyed by where they go, for a server installed as a command on PATH (or `command`)."""
    program, *args = command or [spec.name]
    env = _env_placeholders(spec)
    entry: dict[str, object] = {"command": program, "args": args}
    if env:
        entry["env"] = env
    desktop = {"mcpServers": {spec.name: entry}}
    project = {"mcpServers": {spec.name: {"type": "stdio", **entry}}}
    env_flags = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in env.items())
    # VS Code asks for each required value once and keeps secrets out of the file (`${input:…}`).
    inputs = [
        {"type": "promptString", "id": e.name, "description": e.description or e.name, "password": e.secret}
        for e in spec.env
        if e.required
    ]
    vscode_entry = {"type": "stdio", **entry} | ({"env": {k: f"${{input:{k}}}" for k in env}} if env else {})
    vscode: dict[str, object] = ({"inputs": inputs} if inputs else {}) | {"servers": {spec.name: vscode_entry}}
    return {
        "claude_desktop_config.json": _json(desktop),
        "claude mcp add": f"claude mcp add {spec.name}{env_flags} -- {shlex.join([program, *args])}",
        ".mcp.json": _json(project),
        ".cursor/mcp.json": _json(desktop),
        ".vscode/mcp.json": _json(vscode),
    }
