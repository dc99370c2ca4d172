"""A local HTTP server that answers like the Anthropic Messages API (POST /v1/messages).

It plays back scripted replies in the documented shapes: a `message` object with content blocks
(`text`, `tool_use`, `thinking`), `stop_reason`, `usage` with the prompt-cache fields, a `request-id`
header; errors as `{"type": "error", "error": {"type", "message"}, "request_id"}` with their status codes
and `retry-after`. It also refuses what the current API refuses (anthropic-version 2026-10-21, Sonnet 5.5):
sampling parameters, forced tool choice, assistant prefill, a tool_use left without its tool_result.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Top-level fields of MessageCreateParams; the API answers "Extra inputs are not permitted" for others.
KNOWN_FIELDS = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "metadata",
    "stop_sequences",
    "stream",
    "thinking",
    "output_config",
    "service_tier",
    "cache_control",
    "container",
    "inference_geo",
    "speed",
    "diagnostics",
}
SAMPLING = ("temperature", "top_p", "top_k")
# Models that think adaptively by default and so refuse a forced tool_choice (per their migration guide).
ADAPTIVE_BY_DEFAULT = ("claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1")

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


@dataclass
class Reply:
    """One scripted answer: a message (status 200) or an error."""

    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = "end_turn"
    status: int = 200
    error_type: str | None = None
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def tool_use(name: str, input: dict[str, Any], *, text: str | None = None, thinking: bool = False) -> Reply:
    """Claude calling a tool (optionally after a thinking block and some text), stop_reason tool_use."""
    blocks: list[dict[str, Any]] = []
    if thinking:  # display "omitted" is the default on Sonnet 5.5: empty thinking text, a signature
        blocks.append({"type": "thinking", "thinking": "", "signature": "sig_" + uuid.uuid4().hex})
    if text:
        blocks.append({"type": "text", "text": text})
    blocks.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": name, "input": input})
    return Reply(blocks, "tool_use")


def text_reply(text: str, *, stop_reason: str = "end_turn") -> Reply:
    return Reply([{"type": "text", "text": text}], stop_reason)


def refusal() -> Reply:
    return Reply([], "refusal")


def api_error(status: int, error_type: str, message: str, *, retry_after: int | None = None) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Reply(status=status, error_type=error_type, error_message=message, headers=headers)


@dataclass
class Recorded:
    """A request as the fake received it."""

    headers: dict[str, str]
    body: dict[str, Any]

    def user_text(self) -> str:
        """All text the request's user turns carry (strings, text blocks, tool_result contents)."""
        parts: list[str] = []
        for message in self.body.get("messages", []):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            for block in blocks:
                if block.get("type") == "text":
                    parts.append(block["text"])
                elif block.get("type") == "tool_result":
                    inner = block.get("content")
                    parts.append(inner if isinstance(inner, str) else json.dumps(inner))
        return "\n".join(parts)


Script = Reply | Callable[[dict[str, Any]], Reply]


class FakeMessagesAPI:
    """Serves scripted replies in order on 127.0.0.1; use as a context manager."""

    def __init__(self, replies: Iterable[Script] = ()) -> None:
        self.replies: list[Script] = list(replies)
        self.requests: list[Recorded] = []
        self._cached_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *replies: Script) -> None:
        with self._lock:
            self.replies.extend(replies)

    def __enter__(self) -> FakeMessagesAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- answering -------------------------------------------------------------------------------------

    def answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        request_id = "req_" + uuid.uuid4().hex[:24]
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return self._error(request_id, "invalid_request_error", "Request body is not valid JSON")
        with self._lock:
            self.requests.append(Recorded(headers, body))
        problem = self._refusal_reason(headers, body)
        if problem:
            return self._error(request_id, *problem)
        with self._lock:
            script = self.replies.pop(0) if self.replies else None
        if script is None:
            return self._error(
                request_id, "invalid_request_error", "fake: no scripted reply left", extra={"x-should-retry": "false"}
            )
        reply = script(body) if callable(script) else script
        if reply.error_type:
            return self._error(
                request_id, reply.error_type, reply.error_message, status=reply.status, extra=reply.headers
            )
        message = {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": reply.content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, reply.content),
        }
        return 200, {"request-id": request_id, **reply.headers}, message

    def _refusal_reason(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[str, str] | None:
        if not headers.get("x-api-key") and not headers.get("authorization", "").startswith("Bearer "):
            return "authentication_error", "x-api-key header is required"
        if not headers.get("anthropic-version"):
            return "invalid_request_error", "anthropic-version: header is required"
        for key in body:
            if key not in KNOWN_FIELDS:
                return "invalid_request_error", f"{key}: Extra inputs are not permitted"
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                return "invalid_request_error", f"{key}: Field required"
        if body.get("stream"):
            return "invalid_request_error", "fake: streaming is not served"
        messages = body["messages"]
        if not messages or messages[0].get("role") != "user":
            return "invalid_request_error", 'messages: first message must use the "user" role'
        if messages[-1].get("role") == "assistant":
            return "invalid_request_error", "This model does not support assistant message prefill."
        choice = (body.get("tool_choice") or {}).get("type")
        if choice in ("any", "tool") and body["model"] in ADAPTIVE_BY_DEFAULT:
            return "invalid_request_error", "tool_choice: forced tool use is not supported with this model"
        names = {t.get("name") for t in body.get("tools", [])}
        for tool in body.get("tools", []):
            if (tool.get("input_schema") or {}).get("type") != "object":
                return "invalid_request_error", f"tools: input_schema of {tool.get('name')} must have type object"
        if choice == "tool" and body["tool_choice"].get("name") not in names:
            return "invalid_request_error", "tool_choice: no tool by that name"
        return self._unanswered_tool_use(messages)

    @staticmethod
    def _unanswered_tool_use(messages: list[dict[str, Any]]) -> tuple[str, str] | None:
        for index, message in enumerate(messages):
            content = message.get("content")
            if message.get("role") != "assistant" or isinstance(content, str):
                continue
            ids = {b["id"] for b in content if b.get("type") == "tool_use"}
            following = messages[index + 1].get("content") if index + 1 < len(messages) else []
            answered = (
                {b.get("tool_use_id") for b in following if isinstance(b, dict)}
                if isinstance(following, list)
                else set()
            )
            if ids - answered:
                return (
                    "invalid_request_error",
                    "messages: tool_use ids were found without tool_result blocks "
                    f"immediately after: {', '.join(sorted(ids - answered))}",
                )
        return None

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        """Token counts (about 4 characters a token) with prompt caching of the prefix up to cache_control."""
        prefix, rest = _split_at_cache_breakpoint(body)
        prefix_tokens = len(prefix) // 4
        created = read = 0
        if prefix:
            key = hashlib.sha256((body["model"] + prefix).encode()).hexdigest()
            with self._lock:
                if key in self._cached_prefixes:
                    read = prefix_tokens
                else:
                    self._cached_prefixes.add(key)
                    created = prefix_tokens
        return {
            "input_tokens": max(1, len(rest) // 4),
            "output_tokens": max(1, len(json.dumps(content)) // 4),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": created, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        }

    def _error(
        self,
        request_id: str,
        error_type: str,
        message: str,
        *,
        status: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
        return status or ERROR_STATUS.get(error_type, 400), {"request-id": request_id, **(extra or {})}, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.split("?")[0] != "/v1/messages":
                    status, extra, body = fake._error(
                        "req_" + uuid.uuid4().hex[:24], "not_found_error", f"Not found: {self.path}"
                    )
                else:
                    status, extra, body = fake.answer(headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        return Handler


def _split_at_cache_breakpoint(body: dict[str, Any]) -> tuple[str, str]:
    """(cached prefix, the rest) as text, in the API's cache order: tools, then system, then messages."""
    tools = json.dumps(body.get("tools", []), sort_keys=True)
    system = body.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system or [])
    messages = json.dumps(body["messages"], sort_keys=True)
    marked = [i for i, b in enumerate(blocks) if b.get("cache_control")]
    if not marked:
        return "", tools + json.dumps(blocks) + messages
    cut = marked[-1] + 1
    return tools + json.dumps(blocks[:cut], sort_keys=True), json.dumps(blocks[cut:]) + messages
