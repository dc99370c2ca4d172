"""Client configuration snippets for a server: Claude Desktop, Claude Code and .mcp.json."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factory_bot.spec.model import ServerSpec

# Each client `registry install` knows, and the snippet (a key of `snippets()`) it prints for it.
CLIENTS = {"claude-desktop": "claude_desktop_config.json", "claude-code": "claude mcp add", "mcp-json": ".mcp.json"}


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


def snippets(spec: ServerSpec) -> dict[str, str]:
    """Config snippets, keyed by where they go, for a server installed as a command on PATH."""
    env = _env_placeholders(spec)
    entry: dict[str, object] = {"command": spec.name, "args": []}
    if env:
        entry["env"] = env
    desktop = {"mcpServers": {spec.name: entry}}
    project = {"mcpServers": {spec.name: {"type": "stdio", **entry}}}
    env_flags = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in env.items())
    return {
        "claude_desktop_config.json": json.dumps(desktop, indent=2, ensure_ascii=True),
        "claude mcp add": f"claude mcp add {spec.name}{env_flags} -- {spec.name}",
        ".mcp.json": json.dumps(project, indent=2, ensure_ascii=True),
    }
