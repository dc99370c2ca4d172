"""The validating client's side of tools, prompts and resources that ask (`asks`): it answers each elicitation,
sampling and roots request of an example's call (or prompts/get, resources/read) with the example's next answer,
and says what went wrong (an ask without an answer, an answer of the other kind, answers left over)."""

from __future__ import annotations

from typing import Any

from factory_bot.spec.asks import Answer

NO_ANSWER = -32603  # what the client answers an ask the example has no answer for: an internal error


class Answers:
    """The answers of the example being run, given out in order; `problems` collects what did not fit."""

    def __init__(self) -> None:
        self.queue: list[Answer] = []
        self.problems: list[str] = []
        self.asked = 0

    def expect(self, answers: list[Answer]) -> None:
        self.queue, self.problems, self.asked = list(answers), [], 0

    def leftover(self) -> str | None:
        """After the call: why the example's answers were not all used, or None."""
        if self.queue:
            return f"the body asked {self.asked} time(s), but the example gives {self.asked + len(self.queue)} answers"
        return None

    def _next(self, kind: str) -> Answer | None:
        self.asked += 1
        if not self.queue:
            self.problems.append(f"ask {self.asked} ({kind}) has no answer in the example's `answers`")
            return None
        answer = self.queue.pop(0)
        if answer.kind != kind:
            self.problems.append(f"ask {self.asked} is {kind}, but the example's answer {self.asked} is {answer.kind}")
            return None
        return answer

    async def elicit(self, _context: Any, params: Any) -> Any:
        from mcp import types

        answer = self._next("elicitation")
        if answer is None or answer.elicitation is None:
            return types.ErrorData(code=NO_ANSWER, message="the example has no elicitation answer for this ask")
        return types.ElicitResult(action=answer.elicitation.action, content=answer.elicitation.content)

    async def sample(self, _context: Any, params: Any) -> Any:
        from mcp import types

        answer = self._next("sampling")
        if answer is None or answer.sampling is None:
            return types.ErrorData(code=NO_ANSWER, message="the example has no sampling answer for this ask")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=answer.sampling.text),
            model=answer.sampling.model,
            stop_reason="endTurn",
        )

    async def list_roots(self, _context: Any) -> Any:
        from mcp import types

        answer = self._next("roots")
        if answer is None or answer.roots is None:
            return types.ErrorData(code=NO_ANSWER, message="the example has no roots answer for this ask")
        return types.ListRootsResult(roots=[types.Root(uri=r.uri, name=r.name) for r in answer.roots])

    def callbacks(self) -> dict[str, Any]:
        """The Client's keyword arguments: the client declares elicitation, sampling and roots, and answers them."""
        return {
            "elicitation_callback": self.elicit,
            "sampling_callback": self.sample,
            "list_roots_callback": self.list_roots,
        }
