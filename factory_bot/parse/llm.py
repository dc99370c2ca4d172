"""Free-form intent → spec through Claude, with a repair loop that sends problems back.

Structured output is a tool call: `submit_spec`, whose input_schema is spec_json_schema() itself. Two API
facts shape the request (both per the installed SDK, which sends anthropic-version 2026-10-21):
- the current Sonnet models reject forced tool choice and sampling parameters (temperature, top_p, top_k)
  with a 400, so tool_choice stays `auto`, the prompt asks for exactly one tool call, and the SDK has no
  temperature to set;
- the API's JSON-schema output format requires `additionalProperties: false` on every object, which cannot
  express a spec's maps of inputs, so the tool's (non-strict) input_schema carries the schema instead.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the SDK costs ~1.7 s: only the model stage pays for it
    import anthropic

from factory_bot.errors import ConfigError, SpecError
from factory_bot.parse.prompt import (
    DECLINE_TOOL,
    SUBMIT_TOOL,
    answer_tools,
    repair_message,
    system_prompt,
    user_message,
)
from factory_bot.parse.result import Attempt, ClaudeError, ParseFailed, RequestDeclined, Usage
from factory_bot.spec.loader import validate_data
from factory_bot.spec.model import ServerSpec

# The installed SDK's newest Sonnet id; it is not in the SDK's DEPRECATED_MODELS (which warns of end-of-life).
DEFAULT_MODEL = "claude-sonnet-5-5"
MODEL_ENV = "FACTORY_BOT_MODEL"
KEY_ENV = "ANTHROPIC_API_KEY"
MAX_TOKENS = 16_000  # a large spec with code is ~6k tokens; room for adaptive thinking on top
TIMEOUT_SECONDS = 300.0
MAX_RETRIES = 4  # the SDK retries 408/409/429/5xx (529 overloaded too) and honours retry-after

# USD per million tokens: input, output, 5-minute cache write, cache read (Anthropic's published prices).
PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-sonnet-5-5": (2.0, 10.0, 2.5, 0.10),
    "claude-sonnet-5": (2.0, 10.0, 2.5, 0.20),
    "claude-sonnet-4-6": (3.0, 15.0, 3.75, 0.30),
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 0.10),
}

Check = Callable[[ServerSpec], list[str]]


def resolve_model(model: str | None = None) -> str:
    """--model, else FACTORY_BOT_MODEL, else the default."""
    return model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def make_client() -> anthropic.Anthropic:
    """A client from the environment (ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL when set), with timeouts and retries."""
    key = os.environ.get(KEY_ENV)
    if not key:
        raise ConfigError(
            f"a request in plain language needs Claude, and {KEY_ENV} is not set",
            hint=f"either set {KEY_ENV} (FACTORY_BOT_MODEL picks the model), or give the spec itself: a ```yaml "
            "block in the issue or a spec file (`factory-bot schema` lists the fields; specs/ has examples)",
        )
    import anthropic

    return anthropic.Anthropic(api_key=key, timeout=TIMEOUT_SECONDS, max_retries=MAX_RETRIES)


@dataclass(frozen=True)
class ModelSpec:
    spec: ServerSpec
    attempts: list[Attempt]
    usage: Usage


def write_spec(
    intent: str,
    *,
    client: anthropic.Anthropic,
    model: str,
    check: Check | None = None,
    max_attempts: int = 3,
    server_name: str | None = None,
) -> ModelSpec:
    """Ask Claude for a spec; send validation (and `check`) problems back until one passes or attempts run out."""
    if max_attempts < 1:
        raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
    messages: list[dict[str, Any]] = [{"role": "user", "content": user_message(intent, server_name=server_name)}]
    attempts: list[Attempt] = []
    total = Usage(cost_usd=0.0 if model in PRICES else None)
    for number in range(1, max_attempts + 1):
        response = _create(client, model, messages)
        usage = usage_of(response, model)
        total += usage
        request_id = getattr(response, "_request_id", None)
        if response.stop_reason == "refusal":
            attempts.append(Attempt(number, ["the model refused to answer"], response.stop_reason, request_id, usage))
            raise RequestDeclined("Claude refused to work on this request", [], attempts=attempts, usage=total)
        calls = [block for block in response.content if block.type == "tool_use"]
        decline = next((c for c in calls if c.name == DECLINE_TOOL), None)
        submit = next((c for c in calls if c.name == SUBMIT_TOOL), None)
        if decline is not None and submit is None:
            reason = str(decline.input.get("reason") or "no reason given")
            questions = [str(q) for q in decline.input.get("questions") or []]
            attempts.append(Attempt(number, [f"declined: {reason}"], response.stop_reason, request_id, usage))
            raise RequestDeclined(reason, questions, attempts=attempts, usage=total)
        spec = None
        if submit is None:
            errors = [_missing_call(response.stop_reason)]
        else:
            spec, errors = _judge(submit.input, number, check, server_name)
        attempts.append(Attempt(number, errors, response.stop_reason, request_id, usage))
        if spec is not None and not errors:
            return ModelSpec(spec, attempts, total)
        messages += [response.to_param(), _reply(calls, errors)]
    raise ParseFailed(attempts, usage=total)


def _create(client: anthropic.Anthropic, model: str, messages: list[dict[str, Any]]) -> Any:
    """One Messages API call; the SDK retries; what still fails becomes an error that says what to do."""
    import anthropic

    try:
        return client.messages.create(
            model=model,
            max_tokens=MAX_TOKENS,
            # The static prompt (tools and system come first in the cache prefix) is cached across requests.
            system=[{"type": "text", "text": system_prompt(), "cache_control": {"type": "ephemeral"}}],
            tools=answer_tools(),
            tool_choice={"type": "auto"},
            messages=messages,
        )
    except anthropic.AuthenticationError as exc:
        raise ConfigError(f"the Anthropic API rejected the key: {_api_message(exc)}", hint=f"check {KEY_ENV}") from exc
    except anthropic.NotFoundError as exc:
        raise ConfigError(
            f"the Anthropic API does not know model {model!r}: {_api_message(exc)}",
            hint=f"pick a current model with --model or {MODEL_ENV}, e.g. {DEFAULT_MODEL}",
        ) from exc
    except anthropic.APIStatusError as exc:
        raise ClaudeError(
            f"the Anthropic API answered {exc.status_code} ({exc.type or 'error'}): {_api_message(exc)}"
            + (f" [request-id {exc.request_id}]" if exc.request_id else ""),
            hint="try again later; the SDK already retried"
            if exc.status_code in (429, 529) or exc.status_code >= 500
            else "check --model / FACTORY_BOT_MODEL and the installed anthropic SDK version",
        ) from exc
    except anthropic.APIConnectionError as exc:
        raise ClaudeError(
            f"could not reach the Anthropic API: {exc}",
            hint="check the network (and ANTHROPIC_BASE_URL if set), then try again",
        ) from exc


def _api_message(exc: anthropic.APIStatusError) -> str:
    return exc.api_message or exc.message


def _judge(data: Any, number: int, check: Check | None, server_name: str | None) -> tuple[ServerSpec | None, list[str]]:
    """Validate an answer like any user spec; then let `check` build it. Problems come back as lines."""
    if not isinstance(data, dict):
        return None, [f"{SUBMIT_TOOL} input must be a JSON object (the spec)"]
    data = mark_model_code(data, server_name=server_name)
    try:
        spec = validate_data(data, source=f"model answer {number}")
    except SpecError as exc:
        return None, [f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems]
    problems = list(check(spec)) if check is not None else []
    return spec, problems


def mark_model_code(data: dict[str, Any], *, server_name: str | None = None) -> dict[str, Any]:
    """A copy of the model's answer with every code body marked `written_by: model`, and the requester's name."""
    data = copy.deepcopy(data)
    if server_name:
        data["name"] = server_name  # the requester chose it; the model does not get to rename the server
    for body in _code_bodies(data):
        body["written_by"] = "model"
    return data


def _code_bodies(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every `{kind: code}` body where a spec holds one (spec/bodies.py walks the same places in a model)."""

    def items(key: str) -> list[Any]:
        value = data.get(key)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def completions(mapping: Any) -> list[Any]:
        entries = mapping.values() if isinstance(mapping, dict) else []
        return [(e.get("complete") or {}).get("code") for e in entries if isinstance(e, dict)]

    found = [tool.get("implementation") for tool in items("tools")]
    for kind in ("resources", "resource_templates", "prompts"):
        for item in items(kind):
            found.append(item.get("code"))
            found += completions(item.get("variables")) + completions(item.get("arguments"))
    return [b for b in found if isinstance(b, dict) and b.get("kind") == "code"]


def _missing_call(stop_reason: str | None) -> str:
    if stop_reason == "max_tokens":
        return f"the answer was cut off (max_tokens) before the {SUBMIT_TOOL} call completed; submit a smaller spec"
    return f"the answer did not call {SUBMIT_TOOL}; answer only with one {SUBMIT_TOOL} call holding the whole spec"


def _reply(calls: list[Any], errors: list[str]) -> dict[str, Any]:
    """The user turn after a rejected answer: a tool_result for every tool_use (the API requires it), then the fix."""
    text = repair_message(errors)
    if not calls:
        return {"role": "user", "content": text}
    results: list[dict[str, Any]] = [
        {
            "type": "tool_result",
            "tool_use_id": call.id,
            "is_error": True,
            "content": text if call.name == SUBMIT_TOOL else "ignored: answer with a single submit_spec call",
        }
        for call in calls
    ]
    return {"role": "user", "content": results}


def usage_of(response: Any, model: str) -> Usage:
    """Tokens from the response's usage block, priced when the model's price is known."""
    u = response.usage
    used = Usage(u.input_tokens, u.output_tokens, u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0)
    price = PRICES.get(model)
    if price is None:
        return used
    cost = (
        used.input_tokens * price[0]
        + used.output_tokens * price[1]
        + used.cache_creation_input_tokens * price[2]
        + used.cache_read_input_tokens * price[3]
    ) / 1_000_000
    return Usage(
        used.input_tokens,
        used.output_tokens,
        used.cache_creation_input_tokens,
        used.cache_read_input_tokens,
        round(cost, 6),
    )
