"""An approval covers the request a maintainer saw: an outsider's later edit is not built until a maintainer
approves again, and nothing but the bot's own record approves anything.

Each story runs the real flow (gate, parser, plan, git push, PyGithub against the local GitHub) with a builder
that hands out a prebuilt result; "built" means the factory/<name> branch carries that request's spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.build import trusted
from factory_bot.gitops.approval import request_digest
from factory_bot.gitops.gate import POLICY_MARKER
from tests.fakes.git_repos import branch_files
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for
from tests.test_load import prebuilt, prebuilt_rebuild
from tests.test_policy_gate import event

SPEC = (Path(__file__).resolve().parents[1] / "specs" / "calculator.yaml").read_text()
APPROVAL = "mcp-server: approved"
HONEST = "Add two numbers."
EDITED = "Add two numbers, and mail the result to the outsider."  # what a maintainer never saw


def body(description: str = HONEST, name: str = "outsider-calc") -> str:
    spec = SPEC.replace("name: calculator", f"name: {name}", 1).replace(HONEST, description, 1)
    return f"Please build this.\n\n```yaml\n{spec}```\n"


pytestmark = pytest.mark.github(collaborators={"maint": "write", "reader": "read"})


@pytest.fixture(autouse=True)
def prebuilt_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stories run no real build: the publish stage's trusted rebuild hands out the same stand-in package.
    monkeypatch.setattr(trusted, "make_package", prebuilt_rebuild)


class Factory:
    """Runs every stage of the request flow for one event, as the Requests workflow does."""

    def __init__(self, github: FakeGitHub, tmp_path: Path) -> None:
        self.github, self.tmp_path, self.runs = github, tmp_path, 0
        self.checkout = tmp_path / "main"
        git.Repo.clone_from(str(github.bare), self.checkout)
        self.built: list[str] = []

    def builder(self, spec: Any, out_dir: Path, *, progress: Any = None) -> Any:
        self.built.append(spec.tools[0].description)
        return prebuilt(spec, out_dir)

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.runs += 1
        work = self.tmp_path / f"run-{self.runs}"
        work.mkdir()
        ctx = flows.Context(
            workdir=work, forge=lambda: forge_for(self.github), checkout=self.checkout, builder=self.builder
        )
        outcome = flows.on_issue(payload, ctx)
        gate = json.loads((work / "gate.json").read_text())
        return outcome | {"allowed": gate["allowed"], "rule": gate["rule"]}

    def on_branch(self, name: str = "outsider-calc") -> str:
        """The description of the first tool in the spec on the server's PR branch."""
        spec = branch_files(self.github.bare, f"factory/{name}")[f"specs/{name}.yaml"]
        return HONEST if f"description: {HONEST}\n" in spec else EDITED if EDITED in spec else spec

    def policy_comment(self, number: int) -> str:
        [text] = [
            c["body"]
            for c in self.github.comments_on(number)
            if POLICY_MARKER in c["body"] and c["author"] == self.github.bot
        ]
        return text


def label(github: FakeGitHub, number: int, by: str) -> dict[str, Any]:
    github.relabel(number, [*github.issues[number]["labels"], APPROVAL], actor=by)
    payload = event(github, number, action="labeled", sender=by)
    payload["label"] = github.label_json(APPROVAL)
    return payload


def unlabel(github: FakeGitHub, number: int, by: str) -> None:
    github.relabel(number, [n for n in github.issues[number]["labels"] if n != APPROVAL], actor=by)


def test_an_outsiders_edit_after_approval_is_not_built_until_a_maintainer_approves_again(github, tmp_path):
    factory = Factory(github, tmp_path)
    number = github.open_issue("Calculator", body(), login="stranger", association="NONE")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    assert factory.run(event(github, number))["rule"] == "who" and factory.built == []

    approved = factory.run(label(github, number, "maint"))
    assert approved["pull"] and factory.built == [HONEST] and factory.on_branch() == HONEST
    assert f"sha256={request_digest('Calculator', body())} by=maint via=label" in factory.policy_comment(number)

    # The outsider edits the approved request: the next run builds nothing, and says why.
    edited = factory.run(github.edit_issue(number, login="stranger", body=body(EDITED)))
    assert edited["allowed"] is False and edited["rule"] == "approval-withdrawn"
    assert factory.built == [HONEST] and factory.on_branch() == HONEST  # the PR still holds what was approved
    comment = factory.policy_comment(number)
    assert "@maint approved this request as it read then; it was edited since by @stranger" in comment
    assert "commenting `/factory build`" in comment and f"removing and re-adding the label `{APPROVAL}`" in comment
    assert "mcp-factory:approved" not in comment

    # `/factory retry` re-runs only approved content: not the outsider's, not a maintainer's either.
    retried = factory.run(event(github, number, sender="stranger", comment="/factory retry"))
    assert retried["rule"] == "approval-withdrawn" and factory.built == [HONEST]
    retried = factory.run(event(github, number, sender="maint", comment="/factory retry"))
    assert retried["rule"] == "approval-withdrawn" and factory.built == [HONEST]
    assert "`/factory retry` only re-runs an approved request" in factory.policy_comment(number)
    # Not even an edit back to the approved text: the withdrawal stands until a maintainer acts.
    reverted = factory.run(github.edit_issue(number, login="stranger", body=body()))
    assert reverted["rule"] == "approval-withdrawn" and factory.built == [HONEST]
    github.edit_issue(number, login="stranger", body=body(EDITED))

    # A maintainer who has read the edit approves it: now it is built, and the record names the new text.
    rebuilt = factory.run(event(github, number, sender="maint", comment="/factory build"))
    assert rebuilt["pull"] == approved["pull"] and factory.built == [HONEST, EDITED]
    assert factory.on_branch() == EDITED
    comment = factory.policy_comment(number)
    assert "accepted this request" in comment and "Approved by @maint" in comment
    assert f"sha256={request_digest('Calculator', body(EDITED))} by=maint via=command" in comment
    assert len([c for c in github.comments_on(number) if POLICY_MARKER in c["body"]]) == 1


def test_a_maintainers_own_edit_keeps_the_request_approved(github, tmp_path):
    factory = Factory(github, tmp_path)
    number = github.open_issue("Calculator", body(), login="stranger", association="NONE")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    assert factory.run(event(github, number, sender="maint", comment="/factory build"))["rule"] == "maintainer"
    # The maintainer fixes the request themselves: the edit is built, and stays approved for the outsider.
    fixed = factory.run(github.edit_issue(number, login="maint", body=body(EDITED)))
    assert fixed["pull"] and factory.built == [HONEST, EDITED] and factory.on_branch() == EDITED
    again = factory.run(event(github, number, sender="stranger", comment="/factory retry"))
    assert again["pull"] and factory.built == [HONEST, EDITED, EDITED]
    assert f"sha256={request_digest('Calculator', body(EDITED))} by=maint via=event" in factory.policy_comment(number)
    # A maintainer's own request needs no approval at all, whoever edits it.
    own = github.open_issue("Mine", body(name="maint-calc"), login="maint")["number"]
    assert factory.run(github.edit_issue(own, login="maint", body=body(EDITED, "maint-calc")))["rule"] == "permission"
    # An approval holds while its maintainer may still start builds.
    github.collaborators["maint"] = "read"
    assert factory.run(event(github, number, sender="stranger", comment="/factory retry"))["rule"] == "who"


def test_a_pasted_approval_marker_approves_nothing(github, tmp_path):
    factory = Factory(github, tmp_path)
    title = "Calculator"
    forged = (
        f"<!-- mcp-factory:approved sha256={request_digest(title, body())} by=maint via=command -->\n{POLICY_MARKER}"
    )
    number = github.open_issue(title, body(), login="stranger", association="NONE")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    # Before any run, the outsider pastes a well-formed record, for exactly the current text, into their own
    # comment; and into the issue itself.
    pasted = github.comment_as("stranger", number, f"Approved!\n{forged}")
    assert factory.run(event(github, number))["rule"] == "who"
    github.edit_issue(number, login="stranger", body=body() + forged)
    for sender, comment in (("stranger", None), ("stranger", "/factory retry"), ("stranger", "/factory build")):
        outcome = factory.run(event(github, number, sender=sender, comment=comment))
        assert outcome["allowed"] is False and outcome["rule"] == "who"
    assert factory.built == [] and github.pulls == {}
    assert github.comments[pasted]["body"] == f"Approved!\n{forged}"  # the bot never edits someone else's comment
    assert "did not start a build" in factory.policy_comment(number)


def test_an_approval_label_added_while_no_gate_ran_needs_a_new_approval(github, tmp_path):
    factory = Factory(github, tmp_path)
    number = github.open_issue("Calculator", body(), login="stranger", association="NONE")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    # The label's run never happens (a newer pending run replaced it in the issue's queue), and the outsider
    # edits: the issue's history cannot tell whether the edit came before or after the label.
    github.relabel(number, ["mcp-server", APPROVAL], actor="maint")
    waiting = factory.run(github.edit_issue(number, login="stranger", body=body(EDITED)))
    assert waiting["rule"] == "approval-unrecorded" and factory.built == []
    comment = factory.policy_comment(number)
    assert "the bot has no record of the request it approved" in comment and "commenting `/factory build`" in comment
    # Removing and re-adding the label is an approval the gate sees, and records.
    unlabel(github, number, "maint")
    assert factory.run(label(github, number, "maint"))["pull"] and factory.built == [EDITED]
    # A label approval lasts while the label is on: removing it takes the approval back.
    unlabel(github, number, "maint")
    assert factory.run(event(github, number, sender="stranger", comment="/factory retry"))["rule"] == "who"
    assert factory.built == [EDITED]


def test_an_approved_outsider_over_the_rate_limit_keeps_the_approval_and_runs_are_counted(github, tmp_path):
    factory = Factory(github, tmp_path)
    policy = tmp_path / "main" / ".github" / "mcp-factory.yml"
    policy.parent.mkdir(parents=True)
    policy.write_text("rate_limit: {requests: 1}\n")
    number = github.open_issue("Calculator", body(), login="stranger", association="NONE")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    assert factory.run(event(github, number, sender="maint", comment="/factory build"))["pull"]
    limited = factory.run(event(github, number, sender="stranger", comment="/factory retry"))
    assert limited["rule"] == "rate-limit" and factory.built == [HONEST]
    assert "mcp-factory:approved" in factory.policy_comment(number)  # the refusal keeps the record
    policy.write_text("rate_limit: {requests: 1, exempt: [stranger]}\n")
    assert factory.run(event(github, number, sender="stranger", comment="/factory retry"))["rule"] == "exempt"
    assert factory.built == [HONEST, HONEST]
    counted = [e for e in github.events[number] if e["event"] == "labeled" and e["label"] == "mcp-factory: parsing"]
    assert len(counted) == 2  # the two runs that were built, not the refused one


def test_every_answer_the_approval_stories_read_matches_githubs_openapi(github, tmp_path):
    from tests.test_fake_github_openapi import check

    test_an_outsiders_edit_after_approval_is_not_built_until_a_maintainer_approves_again(github, tmp_path)
    # A token of unknown kind asks GitHub who it is; an installation token may not, and comments as the Actions bot.
    assert forge_for(github, token="0123456789abcdef").own_login() == "github-actions[bot]"
    assert ("GET", "/user", 403) in {(e.method, e.path, e.status) for e in github.exchanges}
    for exchange in github.exchanges:
        check(exchange)


def test_a_pasted_status_marker_never_makes_the_bot_edit_someone_elses_comment(github, tmp_path):
    from factory_bot.gitops.publish import STATUS_MARKER

    factory = Factory(github, tmp_path)
    number = github.open_issue("Calculator", body(), login="maint", association="MEMBER")["number"]
    github.issues[number]["labels"] = ["mcp-server"]
    pasted = github.comment_as("stranger", number, f"look at this {STATUS_MARKER}")
    assert factory.run(event(github, number, sender="maint"))["allowed"] is True
    assert github.comments[pasted]["body"] == f"look at this {STATUS_MARKER}"
    [status] = [
        c["body"] for c in github.comments_on(number) if STATUS_MARKER in c["body"] and c["author"] == github.bot
    ]
    assert "pull request" in status.lower()
