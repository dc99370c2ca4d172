"""Prompts in a spec: typed arguments (with completions) and messages built from templates — text, image,
audio or an embedded resource, with `{argument}` placeholders — or from a code body, which may ask the client
while it runs (`asks`, as a tool's body does)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from factory_bot.spec.asks import MAX_ANSWERS, Answer, BodyAsk, asks_problem
from factory_bot.spec.params import MAX_DESCRIPTION, MAX_EXAMPLES, MAX_TEXT, PARAM_NAME, PLACEHOLDER, StrictModel
from factory_bot.spec.resources import MAX_CONTENT, Completion, Resource, ResourceCode, check_name

MAX_PROMPTS = 50
MAX_MESSAGES = 20


class PromptArgument(StrictModel):
    """One argument of a prompt (MCP prompt arguments are strings)."""

    description: str = Field("", max_length=MAX_DESCRIPTION)
    required: bool = True
    complete: Completion | None = None


class TextContent(StrictModel):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT, description="May use {argument} placeholders.")


class ImageContent(StrictModel):
    type: Literal["image"]
    data: str = Field(max_length=MAX_CONTENT, description="Base64 of the image.")
    mimeType: str = Field(max_length=MAX_TEXT)


class AudioContent(StrictModel):
    type: Literal["audio"]
    data: str = Field(max_length=MAX_CONTENT, description="Base64 of the audio.")
    mimeType: str = Field(max_length=MAX_TEXT)


class EmbeddedResource(StrictModel):
    """A resource inside the message; `uri` and `text` may use {argument} placeholders."""

    type: Literal["resource"]
    uri: str = Field(max_length=MAX_TEXT)
    mimeType: str | None = Field(None, max_length=MAX_TEXT)
    text: str | None = Field(None, max_length=MAX_CONTENT)
    blob: str | None = Field(None, max_length=MAX_CONTENT)

    @model_validator(mode="after")
    def _one_content(self) -> EmbeddedResource:
        if (self.text is None) == (self.blob is None):
            raise ValueError("an embedded resource has either `text` or `blob`")
        if self.blob is not None:
            Resource(name="x", uri="x:x", blob=self.blob)  # the same base64 check as a resource's
        return self


Content = Annotated[TextContent | ImageContent | AudioContent | EmbeddedResource, Field(discriminator="type")]


class PromptMessage(StrictModel):
    role: Literal["user", "assistant"] = "user"
    content: Content


class GetExample(StrictModel):
    """A prompts/get that validation makes: each of `contains` must appear in the messages (as JSON)."""

    arguments: dict[str, str] = Field(default_factory=dict)
    contains: list[str] = Field(default_factory=list, max_length=20)
    error: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    answers: list[Answer] = Field(
        default_factory=list,
        max_length=MAX_ANSWERS,
        description="For prompts that ask: the client's answers to the body's elicit()/sample()/listRoots() calls, "
        "in order.",
    )


class Prompt(StrictModel):
    """A prompt template the client can fill and send to its model."""

    name: str
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    arguments: dict[str, PromptArgument] = Field(default_factory=dict)
    messages: list[PromptMessage] | None = Field(None, min_length=1, max_length=MAX_MESSAGES)
    code: ResourceCode | None = Field(
        None,
        description="Instead of messages: a body whose arguments are string locals; returns a string "
        "(one user message) or an array of {role, content}.",
    )
    asks: list[BodyAsk] = Field(
        default_factory=list,
        description="What the code body asks the client while it builds the messages, as a tool's `asks`: "
        "elicitation: `await elicit(message, schema)`; sampling: `await sample(messages, {maxTokens})`; roots: "
        "`await listRoots()`.",
    )
    examples: list[GetExample] = Field(default_factory=list, max_length=MAX_EXAMPLES)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_name(name, "prompt")

    @model_validator(mode="after")
    def _coherent(self) -> Prompt:
        if (self.messages is None) == (self.code is None):
            raise ValueError(f"prompt {self.name}: give either `messages` or `code`")
        for name in self.arguments:
            if not PARAM_NAME.match(name):
                raise ValueError(f"prompt {self.name}: argument {name!r} is not an identifier")
        for message in self.messages or []:
            content = message.content
            texts = [getattr(content, k, None) for k in ("text", "uri")]
            for placeholder in {p for t in texts if t for p in PLACEHOLDER.findall(t)}:
                if placeholder not in self.arguments:
                    raise ValueError(
                        f"prompt {self.name}: {{{placeholder}}} is not an argument; "
                        f"arguments are: {', '.join(self.arguments) or 'none'}"
                    )
        source = "code" if self.code is not None else "messages"
        if problem := asks_problem(self.asks, source, [e.answers for e in self.examples]):
            raise ValueError(f"prompt {self.name}: {problem.replace('implementation.kind: code', 'a `code` body')}")
        required = {n for n, a in self.arguments.items() if a.required}
        for index, example in enumerate(self.examples):
            unknown = set(example.arguments) - set(self.arguments)
            if unknown:
                raise ValueError(f"prompt {self.name}: examples[{index}] passes unknown argument {sorted(unknown)[0]}")
            missing = required - set(example.arguments)
            if missing and example.error is None:
                raise ValueError(f"prompt {self.name}: examples[{index}] misses required argument {sorted(missing)[0]}")
        return self
