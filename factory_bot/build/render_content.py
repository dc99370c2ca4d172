"""The template inputs of a tool call's extras (issue #13): src/content.ts (the content helpers of
`returns: content` tools) and src/request.ts (the call's context: progress, and log lines sent to the client
when the spec says `logging: true`). Each file exists only when the spec needs it: tools-only servers stay
as they were."""

from __future__ import annotations

from typing import Any

from factory_bot.build import code_body
from factory_bot.spec.bodies import code_bodies
from factory_bot.spec.content import CONTENT_HELPERS, LOGGING_LEVELS
from factory_bot.spec.model import ServerSpec, Tool

# Runtime names a body gets only where it calls them (`text(...)`): a body's own `const text` stays its own.
CALLED = (*CONTENT_HELPERS, "progress")


def returns_content(spec: ServerSpec) -> bool:
    return any(tool.returns == "content" for tool in spec.tools)


def request_context(spec: ServerSpec) -> bool:
    """Whether tool calls run inside a request context: the spec sends log lines, or a body reports progress."""
    return spec.logging or any("progress" in code_body.calls(body.code) for body in code_bodies(spec))


def runtime_names(spec: ServerSpec) -> tuple[str, ...]:
    """The names runtime.ts re-exports for code bodies: progress, and the content helpers."""
    return ("progress",) * request_context(spec) + CONTENT_HELPERS * returns_content(spec)


def tool_imports(spec: ServerSpec, tool: Tool) -> set[str]:
    """What a tool file imports from runtime.ts for its own call: the request context and the content result."""
    names = {"withRequest"} if request_context(spec) else set()
    return names | ({"contentResult"} if tool.returns == "content" else set())


def context(spec: ServerSpec) -> dict[str, Any]:
    return {
        "returns_content": returns_content(spec),
        "request_context": request_context(spec),
        "logging_levels": list(LOGGING_LEVELS),
    }


def files(spec: ServerSpec, render: Any) -> dict[str, str]:
    """src/content.ts and src/request.ts, each when the spec needs it. `render(template, extra)` as in kinds."""
    out = {}
    if returns_content(spec):
        out["src/content.ts"] = render("server/src/content.ts.j2", {})
    if request_context(spec):
        out["src/request.ts"] = render("server/src/request.ts.j2", {})
    return out
