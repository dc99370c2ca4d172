"""Who may ask, how often, and how much: the repository's policy file and the gate every request passes.

`.github/mcp-factory.yml` (optional; every field has a default) is read from the default branch. The gate
runs before the parse stage, in a job whose token may read collaborator permissions and write issues, so a
refused request costs no model call and no build. The gate keeps no state of its own: how many requests a
user made is counted from the bot's own `mcp-factory: parsing` label events on their issues, through the API
(events are history: editing an issue or removing a label does not take one back). What a maintainer approved
for an outsider is recorded in the gate's own comment (approval.py): an outsider's later edit withdraws it.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from factory_bot.errors import ConfigError, PolicyError, RequestError, SpecProblem
from factory_bot.forge.base import LABEL_PREFIX, Forge
from factory_bot.gitops.approval import Approval, Withdrawal, judge, read_record
from factory_bot.parse.sanitize import MAX_REQUEST_CHARS, clean_request
from factory_bot.spec.loader import MAX_SPEC_BYTES, _locate, dump_spec
from factory_bot.spec.model import MAX_TOOLS, ServerSpec

POLICY_PATH = ".github/mcp-factory.yml"
ACCEPTED_STATE = "parsing"  # the label every accepted run gets once: what the rate limit counts
ACCEPTED_LABEL = LABEL_PREFIX + ACCEPTED_STATE
POLICY_MARKER = "<!-- mcp-factory:policy -->"
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}  # GitHub's `permission` (maintain→write, triage→read)
LOGIN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$"
MAX_SCANNED_ISSUES = 100  # a rate-limit count reads at most this many of a user's recent issues


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requesters(_Strict):
    """Who may start a build."""

    permission: Literal["read", "write", "admin"] = Field(
        "write", description="Least repository permission a requester needs (checked through the API).")
    allow: list[str] = Field(default_factory=list, description="Logins always allowed, whatever their permission.")
    approval_label: str = Field(
        "mcp-server: approved", min_length=1, max_length=50,
        description="A label a maintainer adds to let an outsider's request through.")

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

    request_chars: int = Field(MAX_REQUEST_CHARS, ge=100, le=MAX_REQUEST_CHARS,
                               description="Characters of plain-language request that go to the model.")
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
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _invalid([SpecProblem("", f"malformed YAML: {exc.problem or exc}", mark.line + 1 if mark else None)],
                       source) from None
    except YAMLError as exc:
        raise _invalid([SpecProblem("", f"malformed YAML: {exc}")], source) from None
    if data is None:
        return Policy()
    if not isinstance(data, dict):
        raise _invalid([SpecProblem("", "the policy must be a mapping (requesters, rate_limit, limits)")], source)
    try:
        return Policy.model_validate(_plain(data))
    except ValidationError as exc:
        raise _invalid([_problem(err, data) for err in exc.errors()], source) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _problem(error: dict[str, Any], data: Any) -> SpecProblem:
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        model: type[BaseModel] = Policy
        for part in loc[:-1]:
            annotation = model.model_fields[str(part)].annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else model
        known = list(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        message = (f"unknown field {loc[-1]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                   + f"; allowed here: {', '.join(known)}")
    path, line = _locate(loc, data)
    return SpecProblem(path, message, line)


def _invalid(problems: list[SpecProblem], source: str) -> ConfigError:
    lines = "\n".join(f"  {p.render(source)}" for p in problems)
    return ConfigError(f"invalid policy file ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}",
                       hint=f"fix the fields named above; {POLICY_PATH} in this repository documents each one")


# -- the request ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """Who asks for what, read from the event (no API call)."""

    issue: int
    author: str  # whose request it is: the issue's author
    sender: str  # who caused this event (a commenter, an editor, who added a label)
    title: str
    body: str
    action: str = ""  # the event's action: opened, edited, labeled, created (a comment)
    label: str = ""  # the label a `labeled` event added
    command: str = ""  # build | retry, from a `/factory …` comment

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        issue = event.get("issue") or {}
        author = str((issue.get("user") or {}).get("login") or "")
        comment = event.get("comment") or {}
        actor = comment.get("user") or event.get("sender") or {}
        words = str(comment.get("body") or "").strip().split(maxsplit=2)
        command = words[1] if len(words) > 1 and words[0] == "/factory" and words[1] in ("build", "retry") else ""
        return cls(int(issue.get("number") or 0), author, str(actor.get("login") or author),
                   str(issue.get("title") or ""), str(issue.get("body") or ""), str(event.get("action") or ""),
                   str((event.get("label") or {}).get("name") or ""), command)


@dataclass(frozen=True)
class Decision:
    """The gate's verdict, as plain data: what publish/apply and the tests read."""

    allowed: bool
    rule: str  # why: allowlist | permission | maintainer | approved | exempt  / refused: who | rate-limit | <limit>
    message: str = ""
    hint: str = ""
    requester: str = ""
    used: int = 0  # accepted requests of the requester in the window, before this one
    approval: Approval | None = None  # what a maintainer approved, recorded in the gate's comment
    withdrawal: Withdrawal | None = None  # an approval an outsider's edit withdrew

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def _record(self) -> str:
        record = self.approval or self.withdrawal
        return f"{record.marker()}\n" if record else ""

    def comment(self) -> str:
        """The one polite comment a refused request gets (edited in place on later refusals)."""
        return (f"Thanks for the request, @{self.requester}! **MCP Factory** did not start a build: "
                f"{self.message}.\n\n**What to do:** {self.hint}\n\n{self._record()}{POLICY_MARKER}")

    def accepted_comment(self) -> str:
        """What the gate's comment says once a request is let through (with the approval it went under)."""
        approved = f"{self.approval.sentence()}\n\n" if self.approval else ""
        return (f"✅ **MCP Factory** accepted this request; it is being built now.\n\n{approved}{self._record()}"
                f"{POLICY_MARKER}")


def check_size(policy: Policy, title: str, body: str) -> Decision | None:
    """A refusal when the request is larger than the policy allows; read as the parser would, no model."""
    from factory_bot.parse.issue_form import read_issue

    limits = policy.limits
    try:
        request = read_issue(title, clean_request(body))
    except RequestError:
        return None  # empty or unreadable: the parse stage explains that on the issue
    if request.spec is not None:
        size = len(request.spec.text.encode("utf-8"))
        if size > limits.spec_bytes:
            return Decision(False, "limits.spec_bytes", f"its spec YAML is {size} bytes and this repository's "
                            f"limit (limits.spec_bytes) is {limits.spec_bytes}",
                            "split the server into smaller servers or shorten descriptions and code, then edit "
                            "the issue")
        return None
    text = request.intent()
    if len(text) > limits.request_chars:
        return Decision(False, "limits.request_chars", f"the request is {len(text)} characters and this "
                        f"repository's limit (limits.request_chars) is {limits.request_chars}",
                        "describe the server more briefly, or paste a spec YAML block instead "
                        "(`factory-bot schema` lists its fields), then edit the issue")
    return None


def check_spec(policy: Policy, spec: ServerSpec) -> None:
    """Raise PolicyError when a parsed spec exceeds the policy's tool or size limits."""
    limits = policy.limits
    if len(spec.tools) > limits.tools:
        raise PolicyError(f"the spec has {len(spec.tools)} tools; this repository's limit (limits.tools) is "
                          f"{limits.tools}", hint="split it into several servers, one request each")
    size = len(dump_spec(spec).encode("utf-8"))
    if size > limits.spec_bytes:
        raise PolicyError(f"the spec is {size} bytes; this repository's limit (limits.spec_bytes) is "
                          f"{limits.spec_bytes}", hint="shorten descriptions and code, or split the server")


def count_requests(forge: Forge, login: str, since: datetime) -> tuple[int, datetime | None]:
    """How many runs the bot accepted on `login`'s issues since `since`, and the oldest of them."""
    times: list[datetime] = []
    for issue in forge.issues_by(login, since)[:MAX_SCANNED_ISSUES]:
        times += [e.at for e in forge.issue_events(issue.number)
                  if e.kind == "labeled" and e.label == ACCEPTED_LABEL and e.at >= since]
    return len(times), min(times, default=None)


def decide(policy: Policy, request: Request, forge: Forge, now: datetime) -> Decision:
    """Whether this request may start a build now: size, then who (and what they approved), then how often."""
    refused = check_size(policy, request.title, request.body)
    if refused:
        return Decision(False, refused.rule, refused.message, refused.hint, request.author)
    author = request.author
    approval = None
    if author.lower() in {a.lower() for a in policy.requesters.allow}:
        rule = "allowlist"
    elif policy.may_trigger(author, forge.permission(author)):
        rule = "permission"
    else:
        [ours, *_] = forge.own_comments(request.issue, POLICY_MARKER) or [None]
        recorded = read_record(ours, POLICY_MARKER)
        verdict = judge(policy, request, forge, recorded)
        if isinstance(verdict, Decision):
            return verdict
        approval = verdict
        rule = "approved" if verdict == recorded else "maintainer"
    if policy.exempt(author):
        return Decision(True, "exempt", requester=author, approval=approval)
    window = timedelta(hours=policy.rate_limit.hours)
    used, oldest = count_requests(forge, author, now - window)
    if used >= policy.rate_limit.requests:
        again = (oldest + window) if oldest else now + window
        return Decision(False, "rate-limit", f"@{author} has had {used} requests built in the last "
                        f"{policy.rate_limit.hours} hours, this repository's limit (rate_limit.requests is "
                        f"{policy.rate_limit.requests})",
                        f"comment `/factory retry` on this issue after {again:%Y-%m-%d %H:%M} UTC, or ask a "
                        "maintainer to add you to `rate_limit.exempt`", author, used, approval=approval)
    return Decision(True, rule, requester=author, used=used, approval=approval)


def apply(decision: Decision, forge: Forge, number: int) -> None:
    """Record the verdict on the issue: a refusal gets one comment; an accepted run gets its counted label.

    The gate's comment is found among the bot's own comments only, and carries the approval record: it is
    written first, so a run that dies half-way never builds what it did not record.
    """
    if not decision.allowed:
        _write_own(forge, number, decision.comment())  # one comment, edited in place
        return
    if decision.approval is not None:
        _write_own(forge, number, decision.accepted_comment())
    from factory_bot.gitops.publish import report_status

    if ACCEPTED_LABEL in forge.labels(number):  # a run that died half-way left it: take it off so it counts
        forge.set_labels(number, [label for label in forge.labels(number) if label != ACCEPTED_LABEL])
    report_status(forge, number, ACCEPTED_STATE)
    if decision.approval is None:
        [earlier, *_] = forge.own_comments(number, POLICY_MARKER) or [None]
        if earlier is not None and earlier.body != decision.accepted_comment():  # the refusal no longer holds
            forge.update_comment(number, earlier.id, decision.accepted_comment())


def _write_own(forge: Forge, number: int, body: str) -> None:
    """Edit the gate's own comment in place, or create it; never a comment someone else wrote."""
    [earlier, *_] = forge.own_comments(number, POLICY_MARKER) or [None]
    if earlier is None:
        created = forge.create_comment(number, body)
        [oldest, *later] = forge.own_comments(number, POLICY_MARKER) or [created]
        for duplicate in later:  # two runs at once both created one: the oldest stays
            forge.delete_comment(number, duplicate.id)
        if oldest.id == created.id:
            return
        earlier = oldest
    if earlier.body != body:
        forge.update_comment(number, earlier.id, body)
