"""The gate against the local GitHub: who may ask (checked through the API), approval by a maintainer's label,
the per-user rate limit counted from the bot's own label events, and one polite comment per refused request.

Real PyGithub talks to tests/fakes/github_api.py; every answer the fake gives here is checked against GitHub's
OpenAPI description at the end, so the new endpoints cannot drift from GitHub's.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from factory_bot import gitops as flows
from factory_bot.gitops.gate import ACCEPTED_LABEL, POLICY_MARKER
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

pytestmark = pytest.mark.github(collaborators={"maint": "write", "reader": "read", "bob": "write"})
TOKEN = "ghs_gate0token0for0tests"
SPEC = (Path(__file__).resolve().parents[1] / "specs" / "calculator.yaml").read_text()
BODY = f"Please build this.\n\n```yaml\n{SPEC}```\n"


def checkout(tmp_path: Path, policy: str | None = None) -> Path:
    """The default branch as the gate job's checkout sees it (only the policy file matters here)."""
    root = tmp_path / "checkout"
    (root / ".github").mkdir(parents=True, exist_ok=True)
    if policy is not None:
        (root / ".github" / "mcp-factory.yml").write_text(policy)
    return root


class Recorder:
    """Parser and builder stand-ins that only record that they were called: the gate must stop first."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def parser(self, title: str, body: str) -> Any:
        self.calls.append("parse")
        raise AssertionError("a refused request must not reach the parser")

    def builder(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("build")
        raise AssertionError("a refused request must not be built")


def event(
    github: FakeGitHub, number: int, *, action: str = "opened", sender: str | None = None, comment: str | None = None
) -> dict[str, Any]:
    issue = github.issue_json(number)
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue,
        "repository": github.repo_json(),
        "sender": github.user(sender or issue["user"]["login"]),
    }
    if comment is not None:
        payload["comment"] = {"body": comment, "user": github.user(sender or issue["user"]["login"])}
    return payload


def gate(
    github: FakeGitHub,
    payload: dict[str, Any],
    tmp_path: Path,
    policy: str | None = None,
    recorder: Recorder | None = None,
) -> dict[str, Any]:
    work = tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}"
    forge = lambda: forge_for(github, TOKEN)  # noqa: E731
    recorder = recorder or Recorder()
    ctx = flows.Context(
        workdir=work, forge=forge, checkout=checkout(tmp_path, policy), parser=recorder.parser, builder=recorder.builder
    )
    work.mkdir()
    outcome = flows.on_issue(payload, ctx, stage="gate")
    assert json.loads((work / "gate.json").read_text())["allowed"] is outcome["allowed"]
    return outcome


def policy_comments(github: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in github.comments_on(number) if POLICY_MARKER in c["body"]]


def test_a_collaborator_with_write_access_is_let_through_and_the_run_is_counted(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="bob")
    outcome = gate(github, event(github, issue["number"]), tmp_path)
    assert outcome["allowed"] and outcome["rule"] == "permission"
    assert ACCEPTED_LABEL in github.issues[issue["number"]]["labels"]
    assert [e["label"] for e in github.events[issue["number"]] if e["event"] == "labeled"] == [ACCEPTED_LABEL]
    assert policy_comments(github, issue["number"]) == []


def test_a_stranger_gets_one_polite_comment_however_often_the_issue_changes_and_no_model_call(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="stranger")
    github.issues[issue["number"]]["labels"] = ["mcp-server"]
    recorder = Recorder()
    forge = lambda: forge_for(github, TOKEN)  # noqa: E731
    ctx = flows.Context(
        workdir=tmp_path / "all",
        forge=forge,
        checkout=checkout(tmp_path),
        parser=recorder.parser,
        builder=recorder.builder,
    )
    (tmp_path / "all").mkdir()
    outcome = flows.on_issue(event(github, issue["number"]), ctx)  # every stage, as the local CLI runs them
    assert outcome["allowed"] is False and outcome["rule"] == "who"
    assert recorder.calls == [] and github.pulls == {}
    for action in ("edited", "edited", "labeled"):
        assert not gate(github, event(github, issue["number"], action=action), tmp_path)["allowed"]
    [comment] = policy_comments(github, issue["number"])
    assert "Thanks for the request, @stranger!" in comment
    assert "only collaborators with write access" in comment and "`mcp-server: approved`" in comment
    assert github.issues[issue["number"]]["labels"] == ["mcp-server"]  # no state label: nothing was counted
    assert len(github.comments_on(issue["number"])) == 1


def test_permission_comes_from_the_api_not_from_the_events_author_association(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="reader")
    payload = event(github, issue["number"])
    payload["issue"]["author_association"] = "OWNER"  # what the event claims is not what decides
    assert not gate(github, payload, tmp_path)["allowed"]
    assert gate(github, payload, tmp_path, policy="requesters: {permission: read}\n")["allowed"]
    ghost = github.open_issue("Calculator", BODY, login="ghost-nobody")  # the API knows no such user: 404
    assert gate(github, event(github, ghost["number"]), tmp_path)["rule"] == "who"


def test_a_maintainers_approval_label_lets_an_outsider_through_but_anyone_elses_does_not(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="stranger")
    number = issue["number"]
    assert not gate(github, event(github, number), tmp_path)["allowed"]
    github.relabel(number, ["mcp-server", "mcp-server: approved"], actor="reader")  # read access: no approval
    assert not gate(github, event(github, number, action="labeled", sender="reader"), tmp_path)["allowed"]
    github.relabel(number, ["mcp-server"], actor="reader")
    github.relabel(number, ["mcp-server", "mcp-server: approved"], actor="maint")
    outcome = gate(github, event(github, number, action="labeled", sender="maint"), tmp_path)
    assert outcome["allowed"] and outcome["rule"] in ("maintainer", "approved")
    assert gate(github, event(github, number, action="edited", sender="stranger"), tmp_path)["rule"] == "approved"
    [comment] = policy_comments(github, number)  # the earlier refusal, now saying it was accepted
    assert "accepted this request" in comment


def test_a_maintainers_retry_command_on_an_outsiders_request_starts_it(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="stranger")
    payload = event(github, issue["number"], sender="maint", comment="/factory retry")
    outcome = gate(github, payload, tmp_path)
    assert outcome["allowed"] and outcome["rule"] == "maintainer"


def test_the_allowlist_lets_a_named_outsider_through(github, tmp_path):
    issue = github.open_issue("Calculator", BODY, login="Friend")
    assert gate(github, event(github, issue["number"]), tmp_path, policy="requesters:\n  allow: [friend]\n")["allowed"]


def test_over_the_rate_limit_a_request_gets_one_comment_and_no_build(github, tmp_path):
    numbers = [github.open_issue(f"Server {i}", BODY, login="bob")["number"] for i in range(4)]
    policy = "rate_limit: {requests: 3, hours: 24}\n"
    outcomes = [gate(github, event(github, n), tmp_path, policy)["allowed"] for n in numbers[:2]]
    outcomes.append(gate(github, event(github, numbers[0], action="edited"), tmp_path, policy)["allowed"])
    assert outcomes == [True, True, True]  # an edit that rebuilds is a request too
    for _ in range(3):  # the fourth request, and two more events on it
        refused = gate(github, event(github, numbers[3]), tmp_path, policy)
        assert refused["allowed"] is False and refused["rule"] == "rate-limit"
    [comment] = policy_comments(github, numbers[3])
    assert "@bob has had 3 requests built in the last 24 hours" in comment and "rate_limit.requests is 3" in comment
    assert "comment `/factory retry` on this issue after" in comment and "rate_limit.exempt" in comment
    assert ACCEPTED_LABEL not in github.issues[numbers[3]]["labels"]
    # Another user is not affected.
    other = github.open_issue("Other", BODY, login="maint")["number"]
    assert gate(github, event(github, other), tmp_path, policy)["allowed"]


def test_exempt_users_and_old_runs_do_not_count(github, tmp_path):
    policy = "rate_limit:\n  requests: 2\n  hours: 24\n"
    github.shift = -timedelta(hours=25)  # two runs a day ago
    old = [github.open_issue(f"Old {i}", BODY, login="bob")["number"] for i in range(2)]
    assert all(gate(github, event(github, n), tmp_path, policy)["allowed"] for n in old)
    github.shift = timedelta()
    new = [github.open_issue(f"New {i}", BODY, login="bob")["number"] for i in range(3)]
    assert [gate(github, event(github, n), tmp_path, policy)["allowed"] for n in new] == [True, True, False]
    exempt = policy + "  exempt: [bob]\n"
    assert gate(github, event(github, new[2]), tmp_path, exempt)["rule"] == "exempt"


def test_refusals_are_not_counted_against_the_requester(github, tmp_path):
    policy = "rate_limit: {requests: 1}\n"
    issue = github.open_issue("Calculator", BODY, login="stranger")["number"]
    for _ in range(3):
        assert not gate(github, event(github, issue), tmp_path, policy)["allowed"]
    github.relabel(issue, ["mcp-server: approved"], actor="maint")
    assert gate(github, event(github, issue, action="labeled", sender="maint"), tmp_path, policy)["allowed"]


def test_an_oversized_request_is_refused_at_the_gate_with_the_limit_named(github, tmp_path):
    issue = github.open_issue("Huge", "Please build a server that does this. " * 30, login="bob")["number"]
    outcome = gate(github, event(github, issue), tmp_path, "limits: {request_chars: 300}\n")
    assert not outcome["allowed"] and outcome["rule"] == "limits.request_chars"
    [comment] = policy_comments(github, issue)
    assert "limits.request_chars" in comment and "paste a spec YAML block" in comment


def test_every_answer_the_gate_reads_matches_githubs_openapi(github, tmp_path):
    from tests.test_fake_github_openapi import check

    issue = github.open_issue("Calculator", BODY, login="stranger")["number"]
    gate(github, event(github, issue), tmp_path)
    gate(github, event(github, issue), tmp_path)
    github.relabel(issue, ["mcp-server: approved"], actor="maint")
    gate(github, event(github, issue, action="labeled", sender="maint"), tmp_path)
    ghost = github.open_issue("x", BODY, login="ghost-x")["number"]
    gate(github, event(github, ghost), tmp_path)
    paths = {(e.method, e.path.rsplit("/", 1)[-1], e.status) for e in github.exchanges}
    assert {
        ("GET", "permission", 200),
        ("GET", "permission", 404),
        ("GET", "events", 200),
        ("GET", "issues", 200),
    } <= paths
    for exchange in github.exchanges:
        check(exchange)


def test_through_the_real_workflow_a_strangers_request_stops_at_the_gate(github, tmp_path):
    from tests.test_events import REQUEST_LABEL, example
    from tests.test_events_workflows import run

    number = github.open_issue("New MCP server: calculator", BODY, login="stranger")["number"]
    github.issues[number]["labels"] = [REQUEST_LABEL]
    payload = example("issues", "opened")
    payload.update(issue=github.issue_json(number), repository=github.repo_json())

    jobs = run(github, tmp_path, "requests.yml", "issues", payload)

    assert jobs["gate"].result == "success", jobs["gate"].log()
    assert jobs["gate"].outputs == {"allowed": "false"}
    assert [jobs[j].result for j in ("parse", "build", "publish")] == ["skipped"] * 3  # no model, no build
    assert "request refused (who)" in jobs["gate"].summary
    [comment] = policy_comments(github, number)
    assert "@stranger" in comment and github.pulls == {} and len(github.comments_on(number)) == 1
