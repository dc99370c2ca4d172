"""What the generated README shows beyond the spec: example calls, the server's own settings, the commands to try it.

Every value here is text for code fences in templates/server/README.md.j2: JSON comes from `fenced_json`, shell
words from shlex, so no spec string can close a fence or run in a reader's shell.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from factory_bot.build import clients
from factory_bot.spec.model import Example, ServerSpec, Tool

INSPECTOR = "@modelcontextprotocol/inspector"
HTTP_PORT = 3000
# The protocol revision the curl example speaks: stateless Streamable HTTP answers it without a session.
CURL_PROTOCOL = "2025-06-18"

# What src/index.ts and src/start.ts read besides the spec's env: (name, default, what it does).
SERVER_ENV = (
    ("MCP_TRANSPORT", "stdio", "`http` serves Streamable HTTP, as `--http` does."),
    ("MCP_HOST", "127.0.0.1", "Address the HTTP server binds, as `--host`."),
    ("MCP_PORT", "3000", "Port the HTTP server listens on, as `--port`."),
    ("PORT", "", "Used as the port when MCP_PORT is not set (the convention of most hosting platforms)."),
    (
        "MCP_ALLOWED_HOSTS",
        "",
        "Comma-separated Host names (and origins) to accept besides localhost, e.g. `mcp.example.com`.",
    ),
    (
        "MCP_NO_COMPILE_CACHE",
        "",
        "`1`: keep no compile cache (by default, `$XDG_CACHE_HOME` or `~/.cache`, `mcp-server-compile-cache/`,"
        " holds one of yours so that starts after the first compile nothing; `NODE_DEBUG=mcp-compile-cache` shows it).",
    ),
)
# HTTP deployment settings of src/index.ts; they live in one block of the README so they can change together.
DEPLOYMENT_ENV = (
    ("MCP_CORS_ORIGINS", "", "Comma-separated origins a browser client may call from (CORS); none by default."),
    ("MCP_AUTH_TOKEN", "", "When set, HTTP requests need `Authorization: Bearer <token>` (401 otherwise)."),
    (
        "MCP_AUTH_TOKENS_FILE",
        "",
        "A file of accepted bearer tokens, one per line (`#` comments), with or instead of MCP_AUTH_TOKEN.",
    ),
    ("MCP_DRAIN_TIMEOUT_MS", "10000", "On SIGTERM, how long calls in flight may finish before the server exits."),
    (
        "MCP_MAX_MESSAGE_BYTES",
        "4 MiB (HTTP), 10 MiB (stdio)",
        "Largest message: a bigger HTTP body gets 413, a bigger stdio line an error and exit 1.",
    ),
    (
        "MCP_SESSIONS",
        "off (on when a tool asks the client)",
        "`on` keeps HTTP sessions (Mcp-Session-Id) for 2025-era clients, as `--sessions`; `off`, as `--stateless`.",
    ),
    ("MCP_MAX_SESSIONS", "100", "Most HTTP sessions open at once; one more initialize gets 503."),
    ("MCP_SESSION_IDLE_MS", "600000", "An HTTP session that gets no request for this long ends."),
)


def fenced_json(value: Any, *, indent: int | None = None) -> str:
    """JSON for a Markdown code fence: ASCII, and no backtick that could close the fence."""
    return json.dumps(value, indent=indent, ensure_ascii=True).replace("`", "\\u0060")


def _shown_example(tool: Tool) -> Example | None:
    """The example a reader learns most from: one with an output, else one that succeeds, else any."""
    for wanted in (lambda e: e.expects_output, lambda e: e.error is None, lambda e: True):
        for example in tool.examples:
            if wanted(example):
                return example
    return None


def example_calls(spec: ServerSpec) -> list[dict[str, Any]]:
    """One `tools/call` per tool, from the spec's examples (what validation ran), with what it answers."""
    calls = []
    for tool in spec.tools:
        example = _shown_example(tool)
        entry: dict[str, Any] = {"tool": tool.name, "call": None, "output": None, "error": None, "wrapped": None}
        if example is not None:
            entry["call"] = fenced_json({"name": tool.name, "arguments": example.input})
            if example.expects_output:
                entry["output"] = fenced_json(example.output)
                if tool.output_is_wrapped:  # structuredContent must be an object
                    entry["wrapped"] = fenced_json({"result": example.output})
            entry["error"] = example.error
        calls.append(entry)
    return calls


def _curl(url: str, payload: dict[str, Any], *, session_headers: bool) -> str:
    words = [
        "curl",
        "-s",
        url,
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json, text/event-stream",
    ]
    if session_headers:
        words += ["-H", f"MCP-Protocol-Version: {CURL_PROTOCOL}"]
    return shlex.join([*words, "-d", fenced_json(payload)])


def curl_commands(spec: ServerSpec, port: int = HTTP_PORT) -> list[str]:
    """initialize, tools/list and one tools/call against `<name> --http`, as a reader would type them."""
    url = f"http://127.0.0.1:{port}/mcp"
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": CURL_PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "curl", "version": "1.0.0"},
        },
    }
    commands = [
        _curl(url, hello, session_headers=False),
        _curl(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session_headers=True),
    ]
    for tool in spec.tools:
        example = _shown_example(tool)
        if example is not None and example.error is None:
            params = {"name": tool.name, "arguments": example.input}
            commands.append(
                _curl(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params}, session_headers=True)
            )
            break
    return commands


def inspector_commands(spec: ServerSpec, port: int = HTTP_PORT) -> dict[str, str]:
    """The MCP Inspector on the installed command (UI and CLI) and on the HTTP endpoint."""
    env = [word for e in spec.env if e.required for word in ("-e", f"{e.name}=<{e.name}>")]
    return {
        "ui": shlex.join(["npx", INSPECTOR, *env, spec.name]),
        "cli": shlex.join(["npx", INSPECTOR, "--cli", *env, spec.name, "--method", "tools/list"]),
        "http": shlex.join(
            ["npx", INSPECTOR, "--cli", f"http://127.0.0.1:{port}/mcp", "--transport", "http", "--method", "tools/list"]
        ),
    }


def context(spec: ServerSpec) -> dict[str, Any]:
    """Everything README.md.j2 needs besides the spec itself."""
    return {
        "package": spec.npm_package,
        # A bare default name is not known to be ours on npm (`calculator` is someone else's): no npx for it.
        "on_npm": spec.package is not None or spec.npm_package.startswith("@"),
        "npx": shlex.join(clients.npx_command(spec)),
        "npx_snippets": clients.snippets(spec, clients.npx_command(spec)),
        "examples": example_calls(spec),
        "curl": curl_commands(spec),
        "inspector": inspector_commands(spec),
        "server_env": [dict(zip(("name", "default", "description"), row)) for row in SERVER_ENV],
        "deployment_env": [dict(zip(("name", "default", "description"), row)) for row in DEPLOYMENT_ENV],
        "port": HTTP_PORT,
    }
