"""The template inputs for tools, prompts and resources that ask the client (`asks`): src/asks.ts with the helpers
the spec's bodies use, each tool's (and prompts.ts's, resources.ts's) imports of them, and whether the HTTP server
keeps sessions by default (2025-era clients can only be asked over a session)."""

from __future__ import annotations

from typing import Any

from factory_bot.build import code_body
from factory_bot.spec.model import ServerSpec, Tool
from factory_bot.spec.prompts import Prompt
from factory_bot.spec.resources import Resource, ResourceTemplate

HELPERS = {
    "elicitation": "elicit",
    "sampling": "sample",
    "roots": "listRoots",
    "reconnect": "reconnect",
}  # what a body calls


def spec_asks(spec: ServerSpec) -> list[str]:
    """The kinds some tool, prompt or resource of the spec asks, in a fixed order."""
    askers: list[Tool | Prompt | Resource | ResourceTemplate] = [
        *spec.tools,
        *spec.prompts,
        *spec.resources,
        *spec.resource_templates,
    ]
    return [kind for kind in HELPERS if any(kind in item.asks for item in askers)]


def _imports(asks: list[str], used: set[str]) -> list[str]:
    """`answering` (a handler's wrapper), the helpers of `asks` the bodies call, and `clientCan` when called."""
    asked = [HELPERS[kind] for kind in dict.fromkeys(asks) if HELPERS[kind] in used]
    return ["answering", *asked, *(["clientCan"] if "clientCan" in used else [])]


def tool_imports(tool: Tool) -> list[str]:
    """What a tool file imports from asks.ts: `answering` (its handler's wrapper) and the helpers its body calls."""
    if not tool.asks:
        return []
    used = code_body.names(tool.implementation.code) if tool.implementation.kind == "code" else set()
    return _imports(list(tool.asks), used)


def kinds_imports(items: list[Prompt] | list[Resource | ResourceTemplate]) -> list[str]:
    """What prompts.ts (or resources.ts) imports from asks.ts: as a tool file, over every prompt (or resource) that
    asks."""
    asking = [item for item in items if item.asks and item.code is not None]
    used = set().union(*(code_body.names(item.code.code) for item in asking if item.code is not None))
    return _imports([kind for item in asking for kind in item.asks], used) if asking else []


def sessions_by_default(spec: ServerSpec) -> bool:
    """A spec whose tools (or prompts, resources) ask serves HTTP with sessions unless told otherwise
    (MCP_SESSIONS=off): a 2025-era client is asked through its session, and a stream to reconnect to lives in one."""
    return bool(spec_asks(spec))


def asks_files(spec: ServerSpec, render: Any) -> dict[str, str]:
    """src/asks.ts, only when something asks (other servers stay as they were)."""
    asks = spec_asks(spec)
    return {"src/asks.ts": render("server/src/asks.ts.j2", {"asks": asks})} if asks else {}
