"""Requests (issue forms, YAML blocks, free text via Claude) → spec.

A spec YAML in the request is used as-is after validation, with no model call. Only free-form intent
goes to Claude, and its answer is validated like any user spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from factory_bot.errors import RequestError, SpecError, SpecProblem
from factory_bot.parse.issue_form import IssueRequest, read_issue
from factory_bot.parse.result import Attempt, ClaudeError, ParseFailed, ParseResult, RequestDeclined, Usage
from factory_bot.parse.sanitize import INVISIBLE, MAX_REQUEST_CHARS, clean_request
from factory_bot.spec.loader import load_spec_text
from factory_bot.spec.params import BIDI_CONTROLS

if TYPE_CHECKING:
    import anthropic

    from factory_bot.parse.llm import Check

__all__ = [
    "DEFAULT_MODEL",
    "Attempt",
    "ClaudeError",
    "ParseFailed",
    "ParseResult",
    "RequestDeclined",
    "Usage",
    "parse_issue",
    "parse_request",
]


def parse_request(
    text: str,
    *,
    client: anthropic.Anthropic | None = None,
    model: str | None = None,
    check: Check | None = None,
    max_attempts: int = 3,
) -> ParseResult:
    """Turn a request (free text, an issue body, or a spec YAML) into a valid spec."""
    return parse_issue("", text, client=client, model=model, check=check, max_attempts=max_attempts)


def parse_issue(
    title: str,
    body: str,
    *,
    client: anthropic.Anthropic | None = None,
    model: str | None = None,
    check: Check | None = None,
    max_attempts: int = 3,
    openapi: Callable[[str, str, str | None], ParseResult] | None = None,
) -> ParseResult:
    """Turn a GitHub issue (form sections, a spec YAML block, or free text) into a valid spec; a form naming an
    OpenAPI document goes to `openapi(document, operations, server name)`, the caller's importer."""
    request = read_issue(_clean_title(title), clean_request(body))
    if request.spec is not None:
        where = "the issue form's Spec YAML field" if request.spec.in_form else "the spec YAML in the request"
        _refuse_bidi_controls(body, request.spec.text, where)
        spec = load_spec_text(request.spec.text, source=where)
        return ParseResult(spec=spec, source="form" if request.spec.in_form else "yaml")
    if request.fields.get("openapi"):
        if openapi is None:
            raise RequestError(
                "the request names an OpenAPI document, which this reading cannot import",
                hint="import it with `factory-bot import openapi DOCUMENT --out specs/NAME.yaml`, "
                "or open the issue in a repository the bot manages",
            )
        return openapi(request.fields["openapi"], request.fields.get("operations", ""), request.server_name)
    intent = _model_intent(request)
    # Only free text needs the model's client (anthropic, jsonschema, the prompt's templates): loaded here.
    from factory_bot.parse.llm import make_client, resolve_model, write_spec

    resolved = resolve_model(model)
    answer = write_spec(
        intent,
        client=client or make_client(),
        model=resolved,
        check=check,
        max_attempts=max_attempts,
        server_name=request.server_name,
    )
    return ParseResult(spec=answer.spec, source="model", attempts=answer.attempts, usage=answer.usage, model=resolved)


def _refuse_bidi_controls(raw_body: str, spec_text: str, where: str) -> None:
    """Cleaning strips bidirectional controls from a request, but a spec is used as written: refuse instead."""
    lines = spec_text.split("\n")
    for raw in raw_body.replace("\r\n", "\n").split("\n"):
        found = BIDI_CONTROLS.search(raw)
        cleaned = INVISIBLE.sub("", raw).rstrip()
        if found and cleaned.strip() and cleaned in lines:
            raise SpecError(
                [
                    SpecProblem(
                        "",
                        f"the invisible bidirectional control U+{ord(found[0]):04X} makes this "
                        "line read differently than it runs (Trojan Source)",
                        lines.index(cleaned) + 1,
                    )
                ],
                source=where,
                hint="remove the character (retype the line) and edit the issue",
            )


def _clean_title(title: str) -> str:
    try:
        return clean_request(title, limit=1_000)
    except RequestError:  # a title of nothing but comments or invisible characters is no title
        return ""


def _model_intent(request: IssueRequest) -> str:
    """The text Claude will read, after the checks that need no model (and cost nothing)."""
    if request.is_form and request.acknowledged is not True:
        raise RequestError(
            "the issue form's acknowledgement is not ticked: the server's code will be generated",
            hint="tick the box under “Generated code” (edit the issue), or provide the spec YAML yourself",
        )
    intent = request.intent()
    if not intent:
        raise RequestError(
            "the request says nothing about what the server should do",
            hint="describe the server's tools in a sentence or two",
        )
    return clean_request(intent, limit=MAX_REQUEST_CHARS)


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_MODEL":
        from factory_bot.parse.llm import DEFAULT_MODEL

        return DEFAULT_MODEL
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
