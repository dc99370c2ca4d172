"""Where an imported spec's tools come from: the OpenAPI document, the filters that chose its operations and the
maintainer's overrides. `factory-bot import openapi --update` re-imports from it and keeps every choice."""

from __future__ import annotations

from pydantic import Field, field_validator

from factory_bot.spec.params import MAX_DESCRIPTION, MAX_NAME, MAX_TEXT, MAX_TOOLS, TOOL_NAME, StrictModel

MAX_PATTERNS = 200


class ToolOverride(StrictModel):
    """What the maintainer changed on one imported tool; each field given replaces the document's."""

    name: str | None = Field(None, max_length=MAX_NAME)
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str | None = Field(None, min_length=1, max_length=MAX_DESCRIPTION)

    @field_validator("name")
    @classmethod
    def _tool_name(cls, name: str | None) -> str | None:
        if name is not None and not TOOL_NAME.match(name):
            raise ValueError(f"tool name {name!r} must start with a letter and use only letters, digits and _")
        return name


class OpenAPISource(StrictModel):
    """The OpenAPI document a spec was imported from and how: re-importing it keeps these choices."""

    openapi: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="The document: a path relative to this spec file (committed beside it), or an http(s) URL.",
    )
    include: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS, description="Operations to import.")
    exclude: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS, description="Operations left out.")
    tags: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS)
    methods: list[str] = Field(default_factory=list, max_length=10)
    include_deprecated: bool = False
    base_url: str | None = Field(None, max_length=MAX_TEXT)
    bearer_env: str | None = Field(None, max_length=MAX_NAME)
    max_tools: int = Field(40, ge=1, le=MAX_TOOLS)
    overrides: dict[str, ToolOverride] = Field(
        default_factory=dict,
        max_length=MAX_PATTERNS,
        description="Operation (operationId, else 'METHOD /path') → the maintainer's name, title or description.",
    )

    @property
    def is_url(self) -> bool:
        return self.openapi.startswith(("http://", "https://"))
