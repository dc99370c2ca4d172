"""stdout belongs to the protocol: every line a stdio server writes that is not JSON-RPC is caught and
charged to the tool call in progress, so validation can fail the server and name the tool.

The Python client's stdio transport hands a line it cannot parse to the session as an exception (which
the session only logs); `StdoutWatch` sits between the two, takes those out and records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyio.abc import ObjectReceiveStream

MAX_QUOTED = 120


@dataclass
class StrayLine:
    """A stdout line that is not JSON-RPC, and the tool whose call was running (None: no call)."""

    tool: str | None
    text: str


def _text_of(error: Exception) -> str:
    """The offending line, as the JSON-RPC parser saw it (pydantic keeps the input)."""
    errors = getattr(error, "errors", None)
    try:
        value = errors()[0]["input"] if callable(errors) else str(error)
    except (IndexError, KeyError, TypeError, ValueError):
        value = str(error)
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "…"


class StdoutWatch(ObjectReceiveStream[Any]):
    """The read side of a stdio transport, minus the lines that are not JSON-RPC (kept in `stray`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.current: str | None = None  # the tool being called; set by the caller around each call
        self.stray: list[StrayLine] = []

    async def receive(self) -> Any:
        while True:
            item = await self.inner.receive()
            if not isinstance(item, Exception):
                return item
            self.stray.append(StrayLine(self.current, _text_of(item)))

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class CallTracker:
    """Which tool is being called, for a transport that can watch stdout (stdio) or not (HTTP)."""

    watch: StdoutWatch | None = None
    seen: set[int] = field(default_factory=set)

    def calling(self, tool: str | None) -> None:
        if self.watch is not None:
            self.watch.current = tool

    def new_problems(self, tool: str | None) -> list[str]:
        """What this tool (or, for None, the server outside any call) wrote to stdout since last asked."""
        if self.watch is None:
            return []
        found = []
        for index, line in enumerate(self.watch.stray):
            if line.tool == tool and index not in self.seen:
                self.seen.add(index)
                found.append(
                    f"wrote a line to stdout that is not JSON-RPC: {line.text!r} (stdout carries the protocol)"
                )
        return found
