"""An `http` tool's example: the reply the stub API gives (`upstream:`) and the request it must receive.

`request: {method, path, query, headers, body}` beside `upstream:` in an example; each field given is checked,
a field left out is not. `path` is under the base URL (the stub stands in for it), percent-encoded as sent;
`query` is every query parameter (a list for a repeated one); `headers` are the ones named (others may come
too); in query and header values `${ENV}` is filled from the env examples (an API key); `body` is the JSON sent (`body: null`: no body at all).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from factory_bot.spec.params import MAX_TEXT, StrictModel


class UpstreamReply(StrictModel):
    """What the upstream API answers in an example of an `http` tool (served by a local stub during validation)."""

    status: int = Field(200, ge=100, le=599)
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)


class ExpectedRequest(StrictModel):
    """The request an http tool's example must make; validation fails the example, naming the difference."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    path: str | None = Field(None, pattern=r"^/[^\s?#]*$", max_length=MAX_TEXT, description="Under the base URL.")
    query: dict[str, str | list[str]] | None = Field(
        None, description="Every query parameter sent, e.g. {q: x, key: '${API_KEY}'}; may use ${ENV}."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Headers that must be sent; may use ${ENV}.")
    body: Any = Field(None, description="The JSON body sent; `body: null` checks that none is sent.")

    @field_validator("headers")
    @classmethod
    def _lower(cls, headers: dict[str, str]) -> dict[str, str]:
        return {name.lower(): value for name, value in headers.items()}

    @property
    def checks_body(self) -> bool:
        return "body" in self.model_fields_set
