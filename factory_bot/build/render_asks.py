"""The template inputs for tools that ask the client (`asks`): src/asks.ts with the helpers the spec's tools use,
each tool's imports of them, and whether the HTTP server keeps sessions by default (2025-era clients can only be
asked over a session)."""

from __future__ import annotations

from typing import Any

from factory_bot.build import code_body
from factory_bot.spec.model import ServerSpec, Tool

HELPERS = {
    "elicitation": "elicit",
    "sampling": "sample",
    "roots": "listRoots",
    "reconnect": "reconnect",
}  # what a body calls


def spec_asks(spec: ServerSpec) -> list[str]:
    """The kinds some tool of the spec asks, in a fixed order."""
    return [kind for kind in HELPERS if any(kind in tool.asks for tool in spec.tools)]


def tool_imports(tool: Tool) -> list[str]:
    """What a tool file imports from asks.ts: `answering` (its handler's wrapper) and the helpers its body calls."""
    if not tool.asks:
        return []
    used = code_body.names(tool.implementation.code) if tool.implementation.kind == "code" else set()
    asked = [HELPERS[kind] for kind in tool.asks if HELPERS[kind] in used]
    return ["answering", *asked, *(["clientCan"] if "clientCan" in used else [])]


def sessions_by_default(spec: ServerSpec) -> bool:
    """A spec whose tools ask serves HTTP with sessions unless told otherwise (MCP_SESSIONS=off): a 2025-era
    client is asked through its session, and a stream to reconnect to lives in one."""
    return bool(spec_asks(spec))


def asks_files(spec: ServerSpec, render: Any) -> dict[str, str]:
    """src/asks.ts, only when some tool asks (other servers stay as they were)."""
    asks = spec_asks(spec)
    return {"src/asks.ts": render("server/src/asks.ts.j2", {"asks": asks})} if asks else {}
