"""The `kind: http` implementation: a declared REST call whose URL, headers, cookies and body the inputs fill."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from factory_bot.spec.params import (
    COOKIE_OCTETS,
    ENV_NAME,
    ENV_REFERENCE,
    HEADER_INPUT,
    HEADER_NAME,
    MAX_TEXT,
    PLACEHOLDER,
    StrictModel,
)


class HttpImplementation(StrictModel):
    """A REST call: `{param}` placeholders in `path`, `query`, headers and cookies are filled from inputs (URL-encoded
    in the URL), `${ENV}` in query and header values from the environment (an API key in the query)."""

    kind: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    base_url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=MAX_TEXT)
    base_url_env: str | None = Field(
        None, description="Env var that overrides base_url; default <SERVER_NAME>_BASE_URL."
    )
    path: str = Field("/", pattern=r"^/[^\s#]*$", max_length=MAX_TEXT)
    query: dict[str, str] = Field(
        default_factory=dict,
        description="Query name → template, e.g. {q: '{city}', key: '${API_KEY}'}: may use {input} and ${ENV_NAME} "
        "(a value whose input is omitted is not sent).",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Header → value; may use ${ENV_NAME} and {input} (a header whose input is omitted is not sent).",
    )
    cookies: dict[str, str] = Field(
        default_factory=dict,
        description="Cookie → template, e.g. {session: '{session_id}'}: sent in the Cookie header, each one only "
        "when its input is given.",
    )
    body: Literal["none", "json"] = Field(
        "none", description="json: the inputs not used in path, query, headers or cookies, as one JSON object."
    )
    body_input: str | None = Field(
        None,
        description="With body: json, the input whose value is the whole JSON body (an array, a string, a number) "
        "instead of an object of inputs.",
    )
    timeout_ms: int = Field(10_000, ge=100, le=120_000)
    response: Literal["json", "text"] = "json"

    @field_validator("base_url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name: use UPPER_SNAKE_CASE")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if "\n" in value or "\r" in value:
                raise ValueError(f"header {name} contains a line break")
        return headers

    @field_validator("cookies")
    @classmethod
    def _cookie_names(cls, cookies: dict[str, str]) -> dict[str, str]:
        for name, template in cookies.items():
            if not HEADER_NAME.match(name):  # a cookie name is an HTTP token too
                raise ValueError(f"{name!r} is not a valid cookie name")
            if not COOKIE_OCTETS.fullmatch(PLACEHOLDER.sub("", template)):
                raise ValueError(f"cookie {name}: {template!r} has a character a cookie cannot carry")
        return cookies

    @model_validator(mode="after")
    def _body_input(self) -> HttpImplementation:
        if self.body_input is not None and self.body != "json":
            raise ValueError(f"body_input: {self.body_input} sends that input as the body: set body: json too")
        return self

    def placeholders(self) -> set[str]:
        """Input names the path, query, headers and cookies consume (not the body)."""
        texts = [self.path, *self.cookies.values()]
        found = {m for text in texts for m in PLACEHOLDER.findall(text)}
        templates = [*self.query.values(), *self.headers.values()]  # `${ENV}` there is no input
        return found | {m for text in templates for m in HEADER_INPUT.findall(text)}

    def env_references(self) -> list[tuple[str, str]]:
        """(where, env var) for each `${ENV}` in a query or header value."""
        parts = [("query", self.query), ("header", self.headers)]
        return [(where, ref) for where, values in parts for v in values.values() for ref in ENV_REFERENCE.findall(v)]
