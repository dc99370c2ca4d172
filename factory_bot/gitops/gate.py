"""The gate every request passes: who may ask, how often, and how much, as the policy file says.

The gate
runs before the parse stage, in a job whose token may read collaborator permissions and write issues, so a
refused request costs no model call and no build. The gate keeps no state of its own: how many requests a
user made is counted from the bot's own `mcp-factory: parsing` label events on their issues, through the API
(events are history: editing an issue or removing a label does not take one back). What a maintainer approved
for an outsider is recorded in the gate's own comment (approval.py): an outsider's later edit withdraws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from factory_bot.errors import PolicyError, RequestError
from factory_bot.forge.base import LABEL_PREFIX, Forge
from factory_bot.gitops.approval import Approval, Withdrawal, judge, read_record
from factory_bot.gitops.policy import Policy
from factory_bot.parse.sanitize import clean_request
from factory_bot.spec.loader import dump_spec
from factory_bot.spec.model import ServerSpec

ACCEPTED_STATE = "parsing"  # the label every accepted run gets once: what the rate limit counts
ACCEPTED_LABEL = LABEL_PREFIX + ACCEPTED_STATE
POLICY_MARKER = "<!-- mcp-factory:policy -->"
MAX_SCANNED_ISSUES = 100  # a rate-limit count reads at most this many of a user's recent issues


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
        return cls(
            int(issue.get("number") or 0),
            author,
            str(actor.get("login") or author),
            str(issue.get("title") or ""),
            str(issue.get("body") or ""),
            str(event.get("action") or ""),
            str((event.get("label") or {}).get("name") or ""),
            command,
        )


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
        return (
            f"Thanks for the request, @{self.requester}! **MCP Factory** did not start a build: "
            f"{self.message}.\n\n**What to do:** {self.hint}\n\n{self._record()}{POLICY_MARKER}"
        )

    def accepted_comment(self) -> str:
        """What the gate's comment says once a request is let through (with the approval it went under)."""
        approved = f"{self.approval.sentence()}\n\n" if self.approval else ""
        return (
            f"✅ **MCP Factory** accepted this request; it is being built now.\n\n{approved}{self._record()}"
            f"{POLICY_MARKER}"
        )


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
            return Decision(
                False,
                "limits.spec_bytes",
                f"its spec YAML is {size} bytes and this repository's limit (limits.spec_bytes) is {limits.spec_bytes}",
                "split the server into smaller servers or shorten descriptions and code, then edit the issue",
            )
        return None
    text = request.intent()
    if len(text) > limits.request_chars:
        return Decision(
            False,
            "limits.request_chars",
            f"the request is {len(text)} characters and this "
            f"repository's limit (limits.request_chars) is {limits.request_chars}",
            "describe the server more briefly, or paste a spec YAML block instead "
            "(`factory-bot schema` lists its fields), then edit the issue",
        )
    return None


def check_spec(policy: Policy, spec: ServerSpec) -> None:
    """Raise PolicyError when a parsed spec exceeds the policy's tool or size limits."""
    limits = policy.limits
    if len(spec.tools) > limits.tools:
        raise PolicyError(
            f"the spec has {len(spec.tools)} tools; this repository's limit (limits.tools) is {limits.tools}",
            hint="split it into several servers, one request each",
        )
    size = len(dump_spec(spec).encode("utf-8"))
    if size > limits.spec_bytes:
        raise PolicyError(
            f"the spec is {size} bytes; this repository's limit (limits.spec_bytes) is {limits.spec_bytes}",
            hint="shorten descriptions and code, or split the server",
        )


def count_requests(forge: Forge, login: str, since: datetime) -> tuple[int, datetime | None]:
    """How many runs the bot accepted on `login`'s issues since `since`, and the oldest of them."""
    times: list[datetime] = []
    for issue in forge.issues_by(login, since)[:MAX_SCANNED_ISSUES]:
        times += [
            e.at
            for e in forge.issue_events(issue.number)
            if e.kind == "labeled" and e.label == ACCEPTED_LABEL and e.at >= since
        ]
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
        return Decision(
            False,
            "rate-limit",
            f"@{author} has had {used} requests built in the last "
            f"{policy.rate_limit.hours} hours, this repository's limit (rate_limit.requests is "
            f"{policy.rate_limit.requests})",
            f"comment `/factory retry` on this issue after {again:%Y-%m-%d %H:%M} UTC, or ask a "
            "maintainer to add you to `rate_limit.exempt`",
            author,
            used,
            approval=approval,
        )
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
