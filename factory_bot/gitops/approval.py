"""A maintainer's approval covers an outsider's request as it read when they gave it, and nothing else.

There is no database: the issue and its comments are the state. When a maintainer lets an outsider's request
through (the approval label, `/factory build`, or any request event they cause, such as their own edit), the
gate records the sha256 of the request's title and body in a hidden marker in its own policy comment:

    <!-- mcp-factory:approved sha256=<hex> by=<login> via=<label|command|event> -->

Only comments the bot wrote count (`Forge.own_login`): a marker pasted into the issue or into anyone else's
comment approves nothing. A later event whose request hashes differently, caused by someone who may not start
a build, finds the approval withdrawn: it is replaced by `<!-- mcp-factory:withdrawn ... -->`, which no later
event turns back into an approval (not even an edit back to the approved text), and nothing is built until a
maintainer approves again. `/factory retry` re-runs only approved content: after a withdrawal it builds nothing,
even a maintainer's (who approves the edit with `/factory build`). An approval label with no record (added while no gate ran) is not trusted either: the issue's
history cannot tell whether the text changed since, so a maintainer approves again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from factory_bot.forge.base import Comment, Forge

if TYPE_CHECKING:
    from factory_bot.gitops.gate import Decision, Request
    from factory_bot.gitops.policy import Policy

_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?"
APPROVED = re.compile(rf"<!-- mcp-factory:approved sha256=([0-9a-f]{{64}}) by=({_LOGIN}) via=(label|command|event) -->")
WITHDRAWN = re.compile(rf"<!-- mcp-factory:withdrawn by=({_LOGIN}) edited-by=({_LOGIN}|-) -->")


def request_digest(title: str, body: str) -> str:
    """The sha256 of a request's text, canonically: JSON of title and body, line ends normalized."""
    text = {"title": title.replace("\r\n", "\n"), "body": body.replace("\r\n", "\n")}
    canonical = json.dumps(text, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(b"mcp-factory request v1\n" + canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Approval:
    """What a maintainer approved: the request's digest, who, and how (a `label` approval lasts while the
    label is on the issue)."""

    sha256: str
    by: str
    via: str  # label | command | event

    def marker(self) -> str:
        return f"<!-- mcp-factory:approved sha256={self.sha256} by={self.by} via={self.via} -->"

    def sentence(self) -> str:
        return (
            f"Approved by @{self.by} for the request as it reads now (sha256 `{self.sha256[:12]}`). An edit by "
            "anyone who cannot start a build withdraws this approval until a maintainer approves again."
        )


@dataclass(frozen=True)
class Withdrawal:
    """An approval an outsider's edit withdrew: kept so later runs can still say why they wait."""

    by: str  # who had approved
    editor: str  # who edited, when the event said so; "-" otherwise

    def marker(self) -> str:
        return f"<!-- mcp-factory:withdrawn by={self.by} edited-by={self.editor} -->"


Record = Approval | Withdrawal


def read_record(comment: Comment | None, marker: str) -> Record | None:
    """The approval (or withdrawal) recorded in one of the bot's own comments: the whole line just before its
    `marker`, where the bot writes it (nothing quoted elsewhere in the comment can pose as one)."""
    if comment is None or marker not in comment.body:
        return None
    line = comment.body.rpartition(marker)[0].rstrip("\n").rpartition("\n")[2]
    if found := APPROVED.fullmatch(line):
        return Approval(found[1], found[2], found[3])
    if found := WITHDRAWN.fullmatch(line):
        return Withdrawal(found[1], found[2])
    return None


def judge(policy: Policy, request: Request, forge: Forge, record: Record | None) -> Approval | Decision:
    """For a request whose author may not start a build: the approval this run goes ahead under, or a refusal."""
    from factory_bot.gitops.gate import Decision

    digest = request_digest(request.title, request.body)
    label = policy.requesters.approval_label
    other = request.sender.lower() != request.author.lower()
    if other and policy.may_trigger(request.sender, forge.permission(request.sender)):
        changed = isinstance(record, Withdrawal) or (isinstance(record, Approval) and record.sha256 != digest)
        if request.command == "retry" and changed:
            return _withdrawn(policy, request, record, retry=True)
        via = (
            "label"
            if request.action == "labeled" and request.label == label
            else "command"
            if request.command
            else "event"
        )
        return Approval(digest, request.sender, via)  # a maintainer's act approves the request as it reads now
    if isinstance(record, Withdrawal) or (isinstance(record, Approval) and record.sha256 != digest):
        return _withdrawn(policy, request, record)
    if isinstance(record, Approval):
        labelled = label in forge.labels(request.issue)
        if (record.via != "label" or labelled) and policy.may_trigger(record.by, forge.permission(record.by)):
            return record
        return Decision(False, "who", *_who(policy), request.author)  # label removed, or the approver lost access
    if label in forge.labels(request.issue) and _labelled_by_maintainer(policy, forge, request.issue, label):
        return Decision(
            False,
            "approval-unrecorded",
            f"the label `{label}` is on this issue, but the bot has no record of the request it "
            "approved (the label was added while no gate ran), so it cannot tell whether the "
            "request was edited since",
            _reapprove(label),
            request.author,
        )
    return Decision(False, "who", *_who(policy), request.author)


def _withdrawn(policy: Policy, request: Request, record: Record | None, *, retry: bool = False) -> Decision:
    from factory_bot.gitops.gate import Decision

    label = policy.requesters.approval_label
    by = record.by if record is not None else "?"
    editor = (
        request.sender
        if request.action == "edited" and not retry
        else (record.editor if isinstance(record, Withdrawal) else "-")
    )
    edited = f" by @{editor}" if editor != "-" else ""
    message = (
        f"@{by} approved this request as it read then; it was edited since{edited}, by someone who cannot "
        "start a build, so that approval no longer covers it"
    )
    hint = _reapprove(label) + ("; `/factory retry` only re-runs an approved request" if retry else "")
    return Decision(False, "approval-withdrawn", message, hint, request.author, withdrawal=Withdrawal(by, editor))


def _reapprove(label: str) -> str:
    return (
        f"a maintainer who has read the request as it reads now approves it by commenting `/factory build` on "
        f"this issue, or by removing and re-adding the label `{label}`"
    )


def _who(policy: Policy) -> tuple[str, str]:
    return (
        f"in this repository only collaborators with {policy.requesters.permission} access (or people on its "
        "allowlist) can start a build",
        f"a maintainer can approve this request by adding the label `{policy.requesters.approval_label}` to "
        "this issue or by commenting `/factory build`",
    )


def _labelled_by_maintainer(policy: Policy, forge: Forge, number: int, label: str) -> bool:
    added = [e for e in forge.issue_events(number) if e.kind == "labeled" and e.label == label]
    return bool(added) and policy.may_trigger(added[-1].actor, forge.permission(added[-1].actor))
