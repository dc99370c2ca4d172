"""The repository's policy file: who may ask, how often, and how much (`.github/mcp-factory.yml`).

Optional; every field has a default. It is read from the default branch and validated like a spec: every
problem names its line and field (spec/loader.py). The gate (gate.py) applies it to each request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from factory_bot.errors import ConfigError, SpecProblem
from factory_bot.forge.base import LABEL_PREFIX
from factory_bot.parse.sanitize import MAX_REQUEST_CHARS
from factory_bot.spec.loader import MAX_SPEC_BYTES, located_problems, plain, positioned_yaml
from factory_bot.spec.params import MAX_TOOLS

POLICY_PATH = ".github/mcp-factory.yml"
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}  # GitHub's `permission` (maintain→write, triage→read)
LOGIN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requesters(_Strict):
    """Who may start a build."""

    permission: Literal["read", "write", "admin"] = Field(
        "write", description="Least repository permission a requester needs (checked through the API)."
    )
    allow: list[str] = Field(default_factory=list, description="Logins always allowed, whatever their permission.")
    approval_label: str = Field(
        "mcp-server: approved",
        min_length=1,
        max_length=50,
        description="A label a maintainer adds to let an outsider's request through.",
    )

    @field_validator("allow")
    @classmethod
    def _logins(cls, value: list[str]) -> list[str]:
        import re

        bad = [login for login in value if not re.match(LOGIN, login)]
        if bad:
            raise ValueError(f"not a GitHub login: {', '.join(map(repr, bad))}")
        return value

    @field_validator("approval_label")
    @classmethod
    def _not_a_state_label(cls, value: str) -> str:
        if value.startswith(LABEL_PREFIX) or value == "mcp-server":
            raise ValueError(f"{value!r} is one of the bot's own labels; pick another name")
        return value


class RateLimit(_Strict):
    """How many builds one requester may start."""

    requests: int = Field(5, ge=1, le=1000, description="Accepted requests per requester per window.")
    hours: int = Field(24, ge=1, le=24 * 30, description="Length of the window, in hours.")
    exempt: list[str] = Field(default_factory=list, description="Logins the limit does not apply to.")


class Limits(_Strict):
    """Size limits; each may only be lowered below the bot's own."""

    request_chars: int = Field(
        MAX_REQUEST_CHARS,
        ge=100,
        le=MAX_REQUEST_CHARS,
        description="Characters of plain-language request that go to the model.",
    )
    tools: int = Field(MAX_TOOLS, ge=1, le=MAX_TOOLS, description="Tools per spec.")
    spec_bytes: int = Field(MAX_SPEC_BYTES, ge=1024, le=MAX_SPEC_BYTES, description="Bytes of spec YAML.")


class Policy(_Strict):
    """The whole policy file."""

    requesters: Requesters = Field(default_factory=Requesters)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    limits: Limits = Field(default_factory=Limits)

    def may_trigger(self, login: str, permission: str) -> bool:
        allowed = {a.lower() for a in self.requesters.allow}
        return login.lower() in allowed or LEVELS.get(permission, 0) >= LEVELS[self.requesters.permission]

    def exempt(self, login: str) -> bool:
        return login.lower() in {a.lower() for a in self.rate_limit.exempt}


# -- the file -------------------------------------------------------------------------------------
def load_policy(checkout: str | Path | None) -> Policy:
    """The policy of the repository checked out at `checkout`; defaults when it has no policy file."""
    if checkout is None:
        return Policy()
    path = Path(checkout) / POLICY_PATH
    if not path.is_file():
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{POLICY_PATH}: cannot read it: {exc}", hint="it must be UTF-8 YAML") from None
    return load_policy_text(text, source=POLICY_PATH)


def load_policy_text(text: str, *, source: str = POLICY_PATH) -> Policy:
    """Parse and validate policy YAML; ConfigError names the file, line and field of every problem."""
    try:
        data = positioned_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _invalid(
            [SpecProblem("", f"malformed YAML: {exc.problem or exc}", mark.line + 1 if mark else None)], source
        ) from None
    except YAMLError as exc:
        raise _invalid([SpecProblem("", f"malformed YAML: {exc}")], source) from None
    if data is None:
        return Policy()
    if not isinstance(data, dict):
        raise _invalid([SpecProblem("", "the policy must be a mapping (requesters, rate_limit, limits)")], source)
    try:
        return Policy.model_validate(plain(data))
    except ValidationError as exc:
        raise _invalid(located_problems(exc, data, _model_at), source) from None


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """Which section of the policy a location points into."""
    model: type[BaseModel] = Policy
    for part in loc:
        annotation = model.model_fields[str(part)].annotation if str(part) in model.model_fields else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else model
    return model


def _invalid(problems: list[SpecProblem], source: str) -> ConfigError:
    lines = "\n".join(f"  {p.render(source)}" for p in problems)
    return ConfigError(
        f"invalid policy file ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}",
        hint=f"fix the fields named above; {POLICY_PATH} in this repository documents each one",
    )
