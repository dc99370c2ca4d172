"""A tool example's observations through the real protocol: the content blocks a `returns: content` tool gives,
the notifications/progress and notifications/message a call sends. Used by protocol._run_examples."""

from __future__ import annotations

import json
import warnings
from typing import Any

from factory_bot.build.expectations import json_equal
from factory_bot.spec.content import mcp_content
from factory_bot.spec.model import Example, Tool

LOG_LEVEL_META = "io.modelcontextprotocol/logLevel"  # a 2026-07-28 request's opt-in to log lines
SETTLE_ROUNDS = 50  # event-loop turns (with a short sleep) a late notification gets after the call's answer
SETTLE_SLEEP = 0.02


class Observer:
    """The notifications of one call at a time, as the validating client receives them."""

    def __init__(self) -> None:
        self.progress: list[float] = []
        self.logs: list[str] = []

    def reset(self) -> None:
        self.progress, self.logs = [], []

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append(progress)

    async def on_log(self, params: Any) -> None:
        data = params.data
        self.logs.append(data if isinstance(data, str) else json.dumps(data))

    async def settle(self, example: Example) -> None:
        """Give notifications still in flight a moment to land (the answer may overtake them in the client)."""
        import anyio

        for _ in range(SETTLE_ROUNDS):
            if len(self.progress) >= len(example.progress or []) and len(self.logs) >= len(example.logs or []):
                return
            await anyio.sleep(SETTLE_SLEEP)


async def call_options(client: Any, example: Example, observer: Observer, *, modern: bool) -> dict[str, Any]:
    """The call_tool keywords an example needs: a progress callback (which sends a progressToken) and, when it
    observes logs, the level: per request on 2026-07-28, by logging/setLevel on an older session."""
    observer.reset()
    options: dict[str, Any] = {}
    if example.progress is not None:
        options["progress_callback"] = observer.on_progress
    if example.logs is not None:
        level = example.log_level or "debug"
        if modern:
            options["meta"] = {LOG_LEVEL_META: level}
        else:
            from mcp.shared.exceptions import MCPDeprecationWarning

            with warnings.catch_warnings():  # deprecated in 2026-07-28, and still how a 2025-11-25 session asks
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await client.session.set_logging_level(level=level)
    return options


def content_problem(tool: Tool, example: Example, result: Any) -> str | None:
    """Why a content tool's answer is not the example's `content` (None when it is, or nothing is expected)."""
    if tool.returns != "content" or example.content is None or result.is_error:
        return None
    if result.structured_content is not None:
        return "a content tool returned structuredContent"
    expected = [mcp_content(block) for block in example.content]
    actual = [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content]
    if not json_equal(actual, expected):
        return f"expected the content {json.dumps(expected)[:300]}, got {json.dumps(actual)[:300]}"
    return None


def observation_problems(example: Example, observer: Observer) -> list[str]:
    """Why the notifications of the call are not those the example expects."""
    problems = []
    if example.progress is not None and not json_equal(observer.progress, example.progress):
        problems.append(f"expected progress {example.progress}, the client saw {observer.progress}")
    if example.logs is not None and observer.logs != example.logs:
        level = example.log_level or "debug"
        problems.append(f"expected the log lines {example.logs} at level {level}, the client saw {observer.logs}")
    return problems
