"""A tool's examples: the calls validation makes through the protocol, with what they should give, the reply
the stub API gives an `http` tool, and the client's answers to a tool that asks."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from factory_bot.spec import content
from factory_bot.spec.asks import MAX_ANSWERS, Answer
from factory_bot.spec.params import MAX_TEXT
from factory_bot.spec.requests import ExpectedRequest, UpstreamReply


class Example(content.CallObservations):
    """A call that validation makes through the protocol: `output` is compared as JSON, `error` expects
    an error result containing that text; with neither, the call just has to succeed. A `returns: content`
    tool's example expects `content`; `progress` and `logs` are observed besides (see content.py)."""

    input: dict[str, Any] = Field(default_factory=dict)
    output: Any = None
    error: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    upstream: UpstreamReply | None = Field(None, description="For http tools: the reply the stub API gives.")
    request: ExpectedRequest | None = Field(None, description="For http tools: the request the server must send.")
    answers: list[Answer] = Field(
        default_factory=list,
        max_length=MAX_ANSWERS,
        description="For tools that ask: the client's answers to the body's elicit()/sample() calls, in order.",
    )

    @property
    def expects_output(self) -> bool:
        return "output" in self.model_fields_set

    @model_validator(mode="after")
    def _one_expectation(self) -> Example:
        if self.expects_output and self.error is not None:
            raise ValueError("an example expects either `output` or `error`, not both")
        return self
