"""GitHub's own example payloads decide which of our jobs run, exactly as the workflows' `if:` say.

The payloads come from npm `@octokit/webhooks-examples` (GitHub's documented examples); each test changes
only the fields its story is about (a label, a comment body) and evaluates the job's real `if:` with
GitHub's expression rules.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .actions_model import load_yaml
from .actions_runner import ROOT, condition

EXAMPLES = [
    Path(os.environ.get("FACTORY_WEBHOOK_EXAMPLES", "/nonexistent")),
    ROOT / ".ci" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json",
    ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json",
]
WEBHOOK_EXAMPLES = "@octokit/webhooks-examples@7.6.1"
REQUEST_LABEL = "mcp-server"  # what .github/ISSUE_TEMPLATE/mcp-server.yml puts on a request


@cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    found = next((path for path in EXAMPLES if path.is_file()), None)
    if found is None:  # first use on this machine: install it into the cache, not the checkout
        from tests.npm_tools import ensure_npm_packages

        found = (
            ensure_npm_packages(WEBHOOK_EXAMPLES) / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
        )
    return {entry["name"]: entry["examples"] for entry in json.loads(found.read_text())}


def example(event: str, action: str | None = None, **where: Any) -> dict[str, Any]:
    """A deep copy of GitHub's first example payload for `event` (and `action`)."""
    for payload in _examples()[event]:
        if action is None or payload.get("action") == action:
            return copy.deepcopy(payload)
    raise LookupError(f"no {event}.{action} example")


def label(payload: dict[str, Any], name: str) -> dict[str, Any]:
    payload["issue"]["labels"].append(dict(payload["issue"]["labels"][0], name=name, id=99, node_id="LA_x"))
    return payload


def runs(
    workflow: str, job: str, event_name: str, payload: dict[str, Any], needs: dict[str, str] | None = None
) -> bool:
    """Whether GitHub would start `job` of `workflow` for this event."""
    spec = load_yaml(ROOT / ".github" / "workflows" / workflow)
    context = {
        "github": {"event_name": event_name, "event": payload, "repository": payload["repository"]["full_name"]},
        "needs": {k: {"result": v} for k, v in (needs or {}).items()},
        "secrets": {},
        "vars": {},
    }
    status = {
        "success": all(v == "success" for v in (needs or {}).values()),
        "failure": any(v == "failure" for v in (needs or {}).values()),
        "cancelled": False,
    }
    return condition(spec["jobs"][job].get("if"), context, status)


def comment(body: str, *, on_request: bool = True, association: str = "OWNER") -> dict[str, Any]:
    payload = example("issue_comment", "created")
    if on_request:
        label(payload, REQUEST_LABEL)
    payload["comment"]["body"] = body
    payload["comment"]["author_association"] = association
    return payload


def test_a_request_opened_from_the_issue_form_starts_the_bot():
    assert runs("requests.yml", "gate", "issues", label(example("issues", "opened"), REQUEST_LABEL))


def test_an_ordinary_issue_is_left_alone():
    payload = example("issues", "opened")
    assert [lab["name"] for lab in payload["issue"]["labels"]] == ["bug"]
    assert not runs("requests.yml", "gate", "issues", payload)
    assert not runs("requests.yml", "gate", "issues", example("issues", "edited"))


def test_editing_a_request_rebuilds_it():
    assert runs("requests.yml", "gate", "issues", label(example("issues", "edited"), REQUEST_LABEL))


def test_adding_the_request_label_starts_the_bot_but_other_labels_do_not():
    payload = example("issues", "labeled")
    assert payload["label"]["name"] == "bug"
    assert not runs("requests.yml", "gate", "issues", payload)  # not a request
    label(payload, REQUEST_LABEL)
    assert not runs("requests.yml", "gate", "issues", payload)  # a request, but "bug" was the label added
    payload["label"]["name"] = REQUEST_LABEL
    assert runs("requests.yml", "gate", "issues", payload)


def test_the_bots_own_status_labels_never_trigger_another_run():
    # With a GitHub App token the bot's label changes do send `labeled` events: they must not loop.
    payload = label(example("issues", "labeled"), REQUEST_LABEL)
    payload["label"]["name"] = "mcp-factory: building"
    assert not runs("requests.yml", "gate", "issues", payload)


@pytest.mark.parametrize("body", ["/factory build", "/factory retry", "/factory retry\n\nplease, with rounding"])
def test_commands_in_a_comment_on_a_request_start_the_bot(body):
    assert runs("requests.yml", "gate", "issue_comment", comment(body))


@pytest.mark.parametrize("body", ["Looks good to me", "please /factory build", "/factorybuild"])
def test_ordinary_comments_do_not(body):
    assert not runs("requests.yml", "gate", "issue_comment", comment(body))


def test_a_command_on_an_issue_that_is_no_request_is_ignored():
    assert not runs("requests.yml", "gate", "issue_comment", comment("/factory build", on_request=False))


def test_a_command_on_a_pull_request_is_ignored():
    payload = comment("/factory retry")
    payload["issue"]["pull_request"] = {"url": payload["issue"]["url"].replace("/issues/", "/pulls/")}
    assert not runs("requests.yml", "gate", "issue_comment", payload)


def test_strangers_cannot_spend_the_model_on_someone_elses_request():
    payload = comment("/factory retry", association="NONE")
    payload["comment"]["user"] = dict(payload["comment"]["user"], login="someone-else", id=4242)
    assert not runs("requests.yml", "gate", "issue_comment", payload)
    # ...but the person who asked may retry their own request.
    payload["comment"]["user"] = dict(payload["issue"]["user"])
    assert runs("requests.yml", "gate", "issue_comment", payload)


def test_bots_cannot_issue_commands():
    payload = comment("/factory build")
    payload["comment"]["user"] = dict(payload["comment"]["user"], type="Bot")
    assert not runs("requests.yml", "gate", "issue_comment", payload)


def test_the_parse_job_starts_only_when_the_gate_lets_the_request_through():
    spec = load_yaml(ROOT / ".github" / "workflows" / "requests.yml")["jobs"]["parse"]
    for allowed, starts in (("true", True), ("false", False), ("", False)):
        context = {"needs": {"gate": {"result": "success", "outputs": {"allowed": allowed}}}}
        assert condition(spec.get("if"), context, {"success": True, "failure": False, "cancelled": False}) is starts


def test_a_maintainer_adding_the_approval_label_starts_the_gate():
    payload = label(example("issues", "labeled"), REQUEST_LABEL)
    payload["label"]["name"] = "mcp-server: approved"
    assert runs("requests.yml", "gate", "issues", payload)


def test_publish_still_runs_after_a_failed_build_to_explain_it_on_the_issue():
    payload = label(example("issues", "opened"), REQUEST_LABEL)
    assert runs("requests.yml", "publish", "issues", payload, {"parse": "success", "build": "failure"})
    assert runs("requests.yml", "publish", "issues", payload, {"parse": "failure", "build": "skipped"})
    assert not runs("requests.yml", "publish", "issues", payload, {"parse": "skipped", "build": "skipped"})


def test_a_review_comment_is_posted_for_a_branch_of_this_repository_but_not_for_a_fork():
    payload = example("pull_request", "opened")
    assert payload["pull_request"]["head"]["repo"]["full_name"] == payload["repository"]["full_name"]
    assert runs("review.yml", "comment", "pull_request", payload, {"check": "failure"})
    payload["pull_request"]["head"]["repo"] = dict(
        payload["pull_request"]["head"]["repo"], full_name="stranger/Hello-World"
    )
    assert not runs("review.yml", "comment", "pull_request", payload, {"check": "success"})
