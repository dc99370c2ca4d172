"""The re-import through our real workflow files: a push to main that changes a committed OpenAPI document runs
reimport.yml job by job (tests/actions_runner.py): the check job re-imports and validates with no secrets, the
publish job alone holds the write token and opens the PR; merged, release.yml releases the bumped version.
A document that no longer imports fails the check with an annotation on the document, and nothing is published.
"""

from __future__ import annotations

import pytest

from .fakes.github_api import FakeGitHub
from .least_privilege import Ledger
from .test_events import example
from .test_events_workflows import assert_ok, git, logs, run
from .test_reimport_story import DOCUMENT, broken_json, change_document, import_petstore, with_limit

# A private repository served over smart HTTP: every read and push needs its scope, as on GitHub.
pytestmark = pytest.mark.github(then=import_petstore, git_http=True, private=True)


def push_payload(fake: FakeGitHub, sha: str) -> dict:
    payload = example("push")
    payload.update(fake.push_event(sha))
    return payload


@pytest.mark.e2e
def test_a_document_pushed_to_main_becomes_a_reimport_pr_and_its_merge_a_release(github, tmp_path):
    ledger = Ledger()
    pushed = change_document(github.bare, with_limit, "the API's v2 document")

    jobs = run(github, tmp_path, "reimport.yml", "push", push_payload(github, pushed))
    ledger.add("reimport.yml", github, jobs)

    assert_ok(jobs, "check", "publish")
    assert jobs["check"].secrets == set() and jobs["publish"].secrets == {"GITHUB_TOKEN"}
    assert github.tokens_seen == {jobs["publish"].token}  # the check job never reached the API
    [pr] = github.pulls.values()
    assert pr["head"] == "factory/petstore.reimport" and "2.0.0" in pr["title"]
    assert r"new required input limit" in pr["body"]
    assert r"minor: tool find\_pets\_by\_color added" in pr["body"]  # read against the history (fetch-depth: 0)
    assert "1.0.0 → 2.0.0" in jobs["check"].summary and "Re-import: pull request #" in jobs["publish"].summary
    assert git(github.bare, "rev-parse", "main") == pushed  # nothing pushed to main
    ledger.check("reimport.yml")  # each job used exactly the scopes it declares

    git(github.bare, "update-ref", "refs/heads/main", "refs/heads/factory/petstore.reimport")  # merged: fast-forward
    jobs = run(github, tmp_path, "release.yml", "push", push_payload(github, git(github.bare, "rev-parse", "main")))
    assert_ok(jobs, "build", "publish")
    release = github.release_by_tag("petstore-v2.0.0")
    assert release and {a["name"] for a in release["assets"]} >= {"petstore-2.0.0.tgz"}, logs(jobs)


def test_a_malformed_document_fails_the_check_on_its_line_and_publishes_nothing(github, tmp_path):
    pushed = change_document(github.bare, broken_json, "a bad edit of the document")

    jobs = run(github, tmp_path, "reimport.yml", "push", push_payload(github, pushed))

    assert jobs["check"].result == "failure" and jobs["publish"].result == "skipped", logs(jobs)
    log = jobs["check"].log()
    line = next(
        i for i, text in enumerate(git(github.bare, "show", f"main:{DOCUMENT}").splitlines(), 1) if "{," in text
    )
    assert (
        f"::error file={DOCUMENT},line={line},title=MCP Factory%3A specs/petstore.yaml cannot be re-imported::" in log
    )
    assert "is not valid JSON" in log and "cannot be re-imported" in jobs["check"].summary
    assert github.pulls == {} and not github.releases and not github.tokens_seen
