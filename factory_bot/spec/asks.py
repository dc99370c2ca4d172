"""What a tool (or a prompt's body) asks the client while it runs (`asks: [elicitation, sampling, roots, reconnect]`), and the answers
an example gives: validation's client answers each `elicit(...)` / `sample(...)` / `listRoots()` of the code body
with the next one (`reconnect()` needs no answer: the client just comes back for the rest of the call)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from factory_bot.spec.params import MAX_TEXT, StrictModel

Ask = Literal["elicitation", "sampling", "roots", "reconnect"]
BodyAsk = Literal["elicitation", "sampling", "roots"]  # what a prompt's body may ask: it has no stream to end
MAX_ANSWERS = 8  # the SDK re-enters a handler at most 8 times per call (inputRequired.maxRounds)


class ElicitAnswer(StrictModel):
    """The user's answer to a form: `accept` with the form's `content`, or `decline` / `cancel` without."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    content: dict[str, Any] | None = Field(None, description="The filled-in form (with action: accept).")

    @model_validator(mode="after")
    def _content_with_accept(self) -> ElicitAnswer:
        if self.action != "accept" and self.content is not None:
            raise ValueError(f"an elicitation answer with action {self.action} carries no content")
        return self


class SampleAnswer(StrictModel):
    """What the client's model answers a sampling request: its text, and the model's name."""

    text: str = Field(max_length=MAX_TEXT)
    model: str = Field("example-model", min_length=1, max_length=MAX_TEXT)


class RootAnswer(StrictModel):
    """One of the client's roots (MCP roots/list): a file:// URI, and optionally a name."""

    uri: str = Field(pattern=r"^file://", max_length=MAX_TEXT)
    name: str | None = Field(None, max_length=MAX_TEXT)


class Answer(StrictModel):
    """One answer of the client, in the order the code body asks: exactly one of `elicitation`, `sampling` or
    `roots`."""

    elicitation: ElicitAnswer | None = None
    sampling: SampleAnswer | None = None
    roots: list[RootAnswer] | None = Field(None, max_length=50)

    @model_validator(mode="after")
    def _one_kind(self) -> Answer:
        if sum(kind is not None for kind in (self.elicitation, self.sampling, self.roots)) != 1:
            raise ValueError(
                "an answer is one of {elicitation: {action, content}}, {sampling: {text}} or {roots: [{uri, name}]}"
            )
        return self

    @property
    def kind(self) -> Ask:
        if self.elicitation is not None:
            return "elicitation"
        return "sampling" if self.sampling is not None else "roots"


def asks_problem(asks: list[Ask] | list[BodyAsk], implementation: str, examples: list[list[Answer]]) -> str | None:
    """Why a tool's (or prompt's) `asks` or its examples' `answers` do not fit together, or None."""
    if asks and implementation != "code":
        return "only a code body can ask the client (`asks` needs implementation.kind: code)"
    if len(set(asks)) != len(asks):
        return "`asks` names each kind once"
    for index, answers in enumerate(examples):
        for number, answer in enumerate(answers):
            if answer.kind not in asks:
                return f"examples[{index}].answers[{number}] answers {answer.kind}, but `asks` lacks {answer.kind}"
    return None
