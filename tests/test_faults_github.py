"""GitHub failing: 5xx, requests that never answer, secondary rate limits. Bounded retries, then a clear error.

Waits are observed, not timed: urllib3's sleep is replaced by a recorder, so a test sees "slept 60 s as
GitHub documents" without waiting a minute. Only the timeout tests really wait (one second per attempt).
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import urllib3.util.retry

from factory_bot import gitops as flows
from factory_bot.errors import ForgeError
from factory_bot.forge.github import GitHubForge
from tests.fakes.github_api import FakeGitHub
from tests.faults_support import SMALL, built_request, publish_context, status_of, yaml_request
from tests.github_forge import TOKEN, forge_for

SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID ABCD:1234."
)
REPO_PATH = r"^/repos/acme/mcp-servers$"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause urllib3's retry takes, recorded instead of slept."""
    taken: list[float] = []
    # Only urllib3's retry pauses: PyGithub's own request pacing sleeps too, and is not what is measured.
    monkeypatch.setattr(urllib3.util.retry, "time", SimpleNamespace(sleep=taken.append, time=time.time))
    return taken


def test_a_5xx_outlasting_the_retries_is_a_clear_error_after_bounded_backoff(github: FakeGitHub, sleeps: list[float]):
    github.fail("GET", r"/releases$", status=502, times=50)
    with pytest.raises(ForgeError) as caught:
        forge_for(github, backoff=1, total=3).list_releases()
    assert "kept answering 502, after retrying" in str(caught.value)
    assert "re-run the job later" in (caught.value.hint or "")
    assert github.faults[0].times == 50 - 4  # one try and three retries, no more
    assert sleeps == [2.0, 4.0]  # exponential backoff (urllib3 retries the first one at once)


def test_retry_after_is_waited_out_exactly(github: FakeGitHub, sleeps: list[float]):
    issue = github.open_issue("t", "b")
    github.fail("POST", r"/issues/\d+/comments$", status=429, headers={"Retry-After": "7"}, message=SECONDARY)
    github.fail("PATCH", r"/issues/comments/\d+$", status=403, headers={"Retry-After": "3"}, message=SECONDARY)
    forge = forge_for(github)
    forge.upsert_comment(issue["number"], "<!-- m -->", "first")
    forge.upsert_comment(issue["number"], "<!-- m -->", "second")
    assert sleeps == [7, 3]
    [comment] = github.comments_on(issue["number"])
    assert comment["body"].startswith("second")


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_without_retry_after_waits_a_minute_as_documented(
    github: FakeGitHub, sleeps: list[float], status: int
):
    github.fail("GET", REPO_PATH, status=status, message=SECONDARY)
    assert forge_for(github).default_branch == "main"
    assert sleeps == [60]


def test_a_rate_limit_longer_than_a_job_should_wait_fails_at_once_with_a_hint(github: FakeGitHub, sleeps: list[float]):
    reset = str(int(time.time()) + 3 * 3600)
    github.fail(
        "GET",
        REPO_PATH,
        status=403,
        message="API rate limit exceeded for installation ID 1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        times=5,
    )
    with pytest.raises(ForgeError) as caught:
        forge_for(github).list_releases()
    assert "rate-limited" in str(caught.value) and "re-run the job later" in (caught.value.hint or "")
    assert sleeps == []
    # A Retry-After beyond the bound is cut to it: the job never sleeps for hours.
    github.faults.clear()
    github.fail("GET", REPO_PATH, status=429, headers={"Retry-After": "86400"}, message=SECONDARY)
    assert forge_for(github).default_branch == "main"
    assert sleeps == [600]


def test_a_request_that_is_never_answered_times_out_and_is_retried(github: FakeGitHub):
    github.fail("GET", REPO_PATH, hang=30)
    forge = GitHubForge(
        github.slug,
        token=TOKEN,
        base_url=github.url,
        retry=forge_for(github)._gh.requester._Requester__retry,
        timeout=1,
    )  # type: ignore[attr-defined]
    assert forge.default_branch == "main"
    assert github.faults[0].times == 0


def test_a_github_that_never_answers_is_a_clear_error_not_a_hang(github: FakeGitHub):
    from factory_bot.forge.github_retry import default_retry

    github.fail("GET", REPO_PATH, hang=30, times=10)
    forge = GitHubForge(
        github.slug, token=TOKEN, base_url=github.url, retry=default_retry(backoff=0, total=2), timeout=1
    )
    with pytest.raises(ForgeError) as caught:
        forge.list_releases()
    assert "no answer within 1s, after retrying" in str(caught.value)
    assert github.faults[0].times == 10 - 3
    assert TOKEN not in str(caught.value)


def test_when_github_keeps_failing_the_status_comment_says_so_and_what_to_do(github: FakeGitHub, tmp_path: Path):
    issue = github.open_issue("Echo", yaml_request(SMALL))
    work = built_request(tmp_path / "work", issue["number"])
    github.fail("POST", r"/pulls$", status=502, times=50)

    with pytest.raises(ForgeError, match="kept answering 502"):
        flows.on_issue(github.issue_event(issue["number"]), publish_context(github, work), stage="publish")

    status = status_of(github, issue["number"])
    assert status.startswith(":x:") and "could not publish" in status
    assert "kept answering 502" in status and "re-run the job later" in status
    assert github.issues[issue["number"]]["labels"] == ["mcp-factory: failed"]
    assert not github.pulls

    github.faults.clear()  # GitHub is back: the re-run finishes, in the same comment
    outcome = flows.on_issue(
        github.issue_event(issue["number"]), publish_context(github, tmp_path / "work"), stage="publish"
    )
    assert list(github.pulls) == [outcome["pull"]]
    assert status_of(github, issue["number"]).startswith(":white_check_mark:")


def test_two_runs_that_both_found_no_status_comment_leave_one(github: FakeGitHub, monkeypatch: pytest.MonkeyPatch):
    issue = github.open_issue("t", "b")
    monkeypatch.setattr(GitHubForge, "find_comment", lambda *_args: None)  # both looked before either wrote
    first, second = forge_for(github), forge_for(github)
    kept = first.upsert_comment(issue["number"], "<!-- s -->", "from the first run")
    again = second.upsert_comment(issue["number"], "<!-- s -->", "from the second run")
    [comment] = github.comments_on(issue["number"])
    assert again.id == kept.id and comment["body"].startswith("from the second run")
