"""What a tool call gives besides its value (issue #13): rich content blocks (`returns: content`), log lines
sent as `notifications/message` (server `logging: true`) and progress — and what an example expects of each."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from factory_bot.spec.params import MAX_TEXT, StrictModel
from factory_bot.spec.prompts import AudioContent, EmbeddedResource, ImageContent, TextContent

MAX_BLOCKS = 20  # content blocks an example expects, progress steps and log lines it observes

LoggingLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LOGGING_LEVELS: tuple[str, ...] = LoggingLevel.__args__  # type: ignore[attr-defined]
# The names runtime.ts gives a body of a `returns: content` tool, one per kind of block.
CONTENT_HELPERS = ("text", "image", "audio", "resource", "resourceLink")
RETURNS_DOC = (
    "`content`: the code body returns content blocks (text(), image(), audio(), resource(), resourceLink(), a "
    "string, or a list of them) instead of a value; no outputSchema."
)
LOGGING_DOC = (
    "Code bodies' log(...) lines also go to the client as notifications/message (the logging capability; "
    "logging/setLevel honoured), besides stderr."
)


class ResourceLink(StrictModel):
    """A link to a resource the client may read (MCP `resource_link`)."""

    type: Literal["resource_link"]
    uri: str = Field(max_length=MAX_TEXT)
    name: str = Field(max_length=MAX_TEXT)
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str | None = Field(None, max_length=MAX_TEXT)
    mimeType: str | None = Field(None, max_length=MAX_TEXT)


ToolContent = Annotated[
    TextContent | ImageContent | AudioContent | EmbeddedResource | ResourceLink, Field(discriminator="type")
]


def mcp_content(block: Any) -> dict[str, Any]:
    """A spec content block as MCP content (an embedded resource nests its fields under `resource`)."""
    if isinstance(block, EmbeddedResource):
        return {"type": "resource", "resource": block.model_dump(exclude_none=True, exclude={"type"})}
    return block.model_dump(exclude_none=True)


class CallObservations(StrictModel):
    """What a tool example observes besides the value: its content blocks, progress and log notifications."""

    content: list[ToolContent] | None = Field(
        None,
        max_length=MAX_BLOCKS,
        description="For a `returns: content` tool: the blocks the call returns, compared exactly and in order.",
    )
    progress: list[float] | None = Field(
        None,
        max_length=MAX_BLOCKS,
        description="The `progress` values of the notifications/progress the call sends, in order (validation "
        "sends a progressToken).",
    )
    logs: list[str] | None = Field(
        None,
        max_length=MAX_BLOCKS,
        description="The log lines (notifications/message data) the call sends, in order; needs `logging: true`.",
    )
    log_level: LoggingLevel | None = Field(
        None, description="The level the validating client asks for before the call (default debug: every line)."
    )


def check_tool(tool: Any) -> None:
    """The rules of a `returns: content` tool and of its examples' observations; raises ValueError."""
    content = tool.returns == "content"
    if content and tool.output is not None:
        raise ValueError(
            f"tool {tool.name} returns content blocks: drop `output` (a content tool advertises no outputSchema)"
        )
    if content and tool.implementation.kind != "code":
        raise ValueError(f"tool {tool.name}: only a code body can return content blocks")
    for index, example in enumerate(tool.examples):
        if content and example.expects_output:
            raise ValueError(f"tool {tool.name}: examples[{index}] of a content tool expects `content:`, not `output:`")
        if not content and example.content is not None:
            raise ValueError(f"tool {tool.name}: examples[{index}].content needs `returns: content` on the tool")
        if example.log_level is not None and example.logs is None:
            raise ValueError(f"tool {tool.name}: examples[{index}].log_level needs `logs:` (the lines expected)")


def check_logging(spec: Any) -> None:
    """An example that observes logs needs the server to send them; raises ValueError."""
    if spec.logging:
        return
    for tool in spec.tools:
        for index, example in enumerate(tool.examples):
            if example.logs is not None:
                raise ValueError(
                    f"tool {tool.name}: examples[{index}].logs needs `logging: true` on the server "
                    "(without it, log(...) writes to stderr only)"
                )
