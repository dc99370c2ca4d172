"""Resources in a spec: static resources (text, a base64 blob, or a code body) and resource templates (RFC 6570
URI templates whose typed variables a code body reads), with subscriptions, completions and read examples; a code
body may ask the client while it reads (`asks`, as a tool's body does)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from factory_bot.spec.asks import MAX_ANSWERS, Answer, BodyAsk, asks_problem
from factory_bot.spec.params import MAX_DESCRIPTION, MAX_EXAMPLES, MAX_NAME, MAX_TEXT, PARAM_NAME, StrictModel

MAX_RESOURCES = 50
MAX_CONTENT = 100_000  # inline text or base64 in a spec; bigger content belongs in a code body
MAX_COMPLETIONS = 100
RESOURCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
# RFC 6570 expressions: an optional operator, then comma-separated variables with an optional modifier.
EXPRESSION = re.compile(r"\{([+#./;?&]?)([^{}]*)\}")
VARSPEC = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::[1-9]\d{0,3}|\*)?$")
MIME = re.compile(r"^[a-z]+/[A-Za-z0-9!#$&^_.+-]+(;.*)?$")


def template_variables(uri_template: str) -> list[str]:
    """The variable names of an RFC 6570 URI template, in order; ValueError when it is malformed."""
    names: list[str] = []
    outside = EXPRESSION.sub("", uri_template)
    if "{" in outside or "}" in outside:
        raise ValueError(f"uriTemplate {uri_template!r} has an unbalanced brace")
    for _operator, body in EXPRESSION.findall(uri_template):
        for spec in body.split(","):
            match = VARSPEC.match(spec)
            if not match:
                raise ValueError(f"uriTemplate {uri_template!r}: {{{body}}} is not an RFC 6570 expression")
            names.append(match.group(1))
    return names


def check_name(name: str, what: str) -> str:
    if not RESOURCE_NAME.match(name) or len(name) > MAX_NAME:
        raise ValueError(
            f"{what} name {name!r} must start with a letter and use letters, digits, _, . or -, "
            f"at most {MAX_NAME} characters"
        )
    return name


class ResourceCode(StrictModel):
    """A TypeScript function body that returns the content: a string (text), a Uint8Array (blob), or
    `{text}` / `{blob: base64}`. `uri` is the URL read; template variables are typed locals."""

    kind: Literal["code"]
    code: str = Field(min_length=1, max_length=20_000)
    written_by: Literal["human", "model"] = "human"

    @field_validator("code")
    @classmethod
    def _no_hidden_characters(cls, code: str) -> str:
        from factory_bot.spec.model import CodeImplementation  # one check for every code body

        return CodeImplementation(kind="code", code=code).code


class Completion(StrictModel):
    """Values offered for a template variable or prompt argument: a static list (filtered by the typed
    prefix), or a code body that gets `value` (what is typed so far) and returns a string array."""

    values: list[str] | None = Field(None, min_length=1, max_length=MAX_COMPLETIONS)
    code: ResourceCode | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Completion:
        if (self.values is None) == (self.code is None):
            raise ValueError("a completion has either `values` (a list) or `code` (a body), not both or neither")
        return self


class TemplateVariable(StrictModel):
    """One variable of a URI template; the body sees it converted to its type."""

    type: Literal["string", "integer", "number"] = "string"
    description: str = Field("", max_length=MAX_DESCRIPTION)
    complete: Completion | None = None


class ReadExample(StrictModel):
    """A resources/read that validation makes: `text` (or `blob`) must equal the content, `contains` must
    appear in its text; `error` expects the read to fail with that text."""

    uri: str | None = Field(None, max_length=MAX_TEXT, description="For templates: a URI the template matches.")
    text: str | None = Field(None, max_length=MAX_CONTENT)
    blob: str | None = Field(None, max_length=MAX_CONTENT)
    contains: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    error: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    answers: list[Answer] = Field(
        default_factory=list,
        max_length=MAX_ANSWERS,
        description="For a body that asks: the client's answers to its elicit()/sample()/listRoots() calls, in order.",
    )


class _ResourceBase(StrictModel):
    name: str
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    mimeType: str | None = Field(None, max_length=MAX_TEXT)
    asks: list[BodyAsk] = Field(
        default_factory=list,
        description="What the code body asks the client while it reads, as a tool's `asks`: elicitation: "
        "`await elicit(message, schema)`; sampling: `await sample(messages, {maxTokens})`; roots: "
        "`await listRoots()`.",
    )
    examples: list[ReadExample] = Field(default_factory=list, max_length=MAX_EXAMPLES)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_name(name, "resource")

    @field_validator("mimeType")
    @classmethod
    def _mime(cls, mime: str | None) -> str | None:
        if mime is not None and not MIME.match(mime):
            raise ValueError(f"mimeType {mime!r} is not a media type such as text/plain or image/png")
        return mime

    @model_validator(mode="after")
    def _asks_fit(self) -> _ResourceBase:
        source = "code" if getattr(self, "code", None) is not None else "inline"
        if problem := asks_problem(self.asks, source, [e.answers for e in self.examples]):
            raise ValueError(f"resource {self.name}: {problem.replace('implementation.kind: code', 'a `code` body')}")
        return self


class Resource(_ResourceBase):
    """A resource at a fixed URI: inline `text`, an inline base64 `blob`, or content from `code`."""

    uri: str = Field(max_length=MAX_TEXT)
    text: str | None = Field(None, max_length=MAX_CONTENT)
    blob: str | None = Field(None, max_length=MAX_CONTENT, description="Base64 of the bytes.")
    code: ResourceCode | None = None
    subscribe: bool = Field(
        False,
        description="Clients may subscribe; any code body (a tool's too) announces a change with `resourceUpdated(uri)`.",
    )

    @field_validator("uri")
    @classmethod
    def _uri(cls, uri: str) -> str:
        if not URI.match(uri) or "{" in uri:
            raise ValueError(f"uri {uri!r} must be an absolute URI such as file:///notes/today or test://static")
        return uri

    @field_validator("blob")
    @classmethod
    def _base64(cls, blob: str | None) -> str | None:
        if blob is not None:
            try:
                base64.b64decode(blob, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("`blob` must be base64 (A-Z, a-z, 0-9, +, /, = padding)") from None
        return blob

    @model_validator(mode="after")
    def _one_content(self) -> Resource:
        given = [k for k in ("text", "blob", "code") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"resource {self.name}: give exactly one of `text`, `blob` or `code`, got {given or 'none'}"
            )
        for index, example in enumerate(self.examples):
            if example.uri not in (None, self.uri):
                raise ValueError(f"resource {self.name}: examples[{index}].uri differs from the resource's uri")
        return self


class ResourceTemplate(_ResourceBase):
    """Resources named by an RFC 6570 URI template, e.g. notes://{id}; `code` reads them."""

    uriTemplate: str = Field(max_length=MAX_TEXT)
    variables: dict[str, TemplateVariable] = Field(
        default_factory=dict, description="Each variable of uriTemplate; omitted ones are strings."
    )
    code: ResourceCode

    @model_validator(mode="after")
    def _variables_match(self) -> ResourceTemplate:
        if not URI.match(self.uriTemplate.replace("{", "").replace("}", "")):
            raise ValueError(
                f"uriTemplate {self.uriTemplate!r} must be an absolute URI template such as notes://{{id}}"
            )
        names = template_variables(self.uriTemplate)
        if not names:
            raise ValueError(f"uriTemplate {self.uriTemplate!r} has no {{variable}}: declare it under `resources`")
        unknown = set(self.variables) - set(names)
        if unknown:
            raise ValueError(f"variables declares {sorted(unknown)[0]!r}, which {self.uriTemplate!r} does not use")
        for name in names:
            if not PARAM_NAME.match(name):
                raise ValueError(f"template variable {name!r} is not an identifier")
        for index, example in enumerate(self.examples):
            if example.uri is None:
                raise ValueError(f"resource template {self.name}: examples[{index}] needs the `uri` to read")
        return self

    @property
    def variable_types(self) -> dict[str, TemplateVariable]:
        """Every variable of the template with its declaration (strings when undeclared)."""
        return {
            n: self.variables.get(n, TemplateVariable()) for n in dict.fromkeys(template_variables(self.uriTemplate))
        }


def unique_names(spec: Any) -> None:
    """Resource names, resource URIs and prompt names are each unique in a spec (ValueError otherwise)."""
    for what, values in (
        ("resources (and resource_templates) named", [r.name for r in [*spec.resources, *spec.resource_templates]]),
        ("resources with the uri", [r.uri for r in spec.resources]),
        ("resource_templates with the uriTemplate", [r.uriTemplate for r in spec.resource_templates]),
        ("prompts named", [p.name for p in spec.prompts]),
    ):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ValueError(f"two {what} {twice[0]!r}; they must be unique")
