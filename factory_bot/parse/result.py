"""What parsing a request gives back: the spec, where it came from, each model attempt and what it cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from factory_bot.errors import FactoryError, RequestError
from factory_bot.spec.model import ServerSpec

Source = Literal["yaml", "form", "model"]


@dataclass(frozen=True)
class Usage:
    """Tokens a model call used and, for models whose price we know, what they cost in US dollars."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            None if cost is None else round(cost, 6),
        )


NO_USAGE = Usage(cost_usd=0.0)


@dataclass(frozen=True)
class Attempt:
    """One answer from the model and the problems found in it (sent back when another attempt follows)."""

    number: int
    errors: list[str]
    stop_reason: str | None = None
    request_id: str | None = None
    usage: Usage = field(default_factory=Usage)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ParseResult:
    """A request turned into a valid spec."""

    spec: ServerSpec
    source: Source
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage = NO_USAGE
    model: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A summary for `factory-bot parse --json` and the GitHub status comment (the spec itself is YAML)."""
        return {
            "name": self.spec.name,
            "version": self.spec.version,
            "tools": [t.name for t in self.spec.tools],
            "source": self.source,
            "model": self.model,
            "model_written_code": self.spec.has_model_code,
            "attempts": [asdict(a) | {"ok": a.ok} for a in self.attempts],
            "usage": asdict(self.usage),
        }


class RequestDeclined(RequestError):
    """The model judged the request too vague, harmful or an attempt to steer it, and said why."""

    def __init__(self, reason: str, questions: list[str], *, attempts: list[Attempt], usage: Usage) -> None:
        self.reason = reason
        self.questions = questions
        self.attempts = attempts
        self.usage = usage
        asks = "; ".join(questions)
        super().__init__(
            f"the request was declined: {reason}",
            hint=(f"edit the request to answer: {asks}" if asks else "describe the tools the server should offer")
            + ", or put a spec YAML block in it",
        )


class ParseFailed(RequestError):
    """The model's answers still had problems after the last attempt."""

    def __init__(self, attempts: list[Attempt], *, usage: Usage) -> None:
        self.attempts = attempts
        self.usage = usage
        last = attempts[-1].errors if attempts else []
        listed = "\n".join(f"  - {e}" for e in last[:20])
        super().__init__(
            f"no valid spec after {len(attempts)} attempt(s); the last answer's problems:\n{listed}",
            hint="make the request more precise (name the tools, their inputs and outputs), allow more attempts, "
            "or write the spec YAML yourself (`factory-bot schema` lists every field)",
        )


class ClaudeError(FactoryError):
    """The Anthropic API could not be used (unreachable, overloaded after retries, or refused the call). Exit 3."""

    exit_code = 3
