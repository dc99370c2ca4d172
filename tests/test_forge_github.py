"""The GitHub forge against the local fake: retries, rate limits, "already exists", and tokens kept secret."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from factory_bot.errors import ForgeError
from factory_bot.forge import git as gitops
from factory_bot.forge.github import GitHubForge
from factory_bot.forge.github_retry import default_retry
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

TOKEN = "ghs_forge0test0token0do0not0print"


def test_a_passing_5xx_is_retried_by_pygithubs_own_retry(github: FakeGitHub):
    issue = github.open_issue("t", "b")
    github.fail("POST", r"/issues/\d+/comments$", status=502, times=2)
    github.fail("PATCH", r"/issues/comments/\d+$", status=503, times=1)
    forge = forge_for(github, TOKEN)
    comment = forge.upsert_comment(issue["number"], "<!-- m -->", "first")
    forge.upsert_comment(issue["number"], "<!-- m -->", "second")
    assert len(github.comments_on(issue["number"])) == 1
    assert github.comments[comment.id]["body"].startswith("second")


def test_the_secondary_rate_limit_is_waited_out_as_retry_after_says(github: FakeGitHub):
    github.fail("GET", r"^/repos/acme/mcp-servers$", status=403, times=1, headers={"Retry-After": "1"})
    assert forge_for(github, TOKEN).default_branch == "main"


def test_creating_what_already_exists_is_treated_as_done(github: FakeGitHub, tmp_path: Path):
    forge = forge_for(github, TOKEN)
    work = git.Repo.clone_from(str(github.bare), tmp_path / "w")
    gitops.push_tag(work, forge.remote(), tag="x-v1.0.0", sha=work.head.commit.hexsha, message="x")
    # The tagger is the bot, in a plain clone too (a runner has no git identity of its own).
    assert git.Repo(github.bare).tags["x-v1.0.0"].tag.tagger.email == gitops.BOT_EMAIL
    first = forge.create_release(tag="x-v1.0.0", name="x 1.0.0", body="notes")
    assert forge.create_release(tag="x-v1.0.0", name="x 1.0.0", body="notes").id == first.id
    (tmp_path / "a.tgz").write_bytes(b"package")
    asset = forge.upload_asset(first, tmp_path / "a.tgz", name="a.tgz", content_type="application/gzip")
    again = forge.upload_asset(
        forge.get_release("x-v1.0.0"), tmp_path / "a.tgz", name="a.tgz", content_type="application/gzip"
    )
    assert again.id == asset.id and forge.download_asset(asset) == b"package"
    assert len(github.releases) == 1 and len(github.assets) == 1
    # Moving a released tag is refused.
    (tmp_path / "w" / "f").write_text("x")
    work.git.add("f")
    work.git.commit(
        "-m",
        "later",
        env={
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@b",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@b",
        },
    )
    with pytest.raises(ForgeError, match="immutable"):
        gitops.push_tag(work, forge.remote(), tag="x-v1.0.0", sha=work.head.commit.hexsha, message="x")


def test_errors_say_what_to_do_and_never_show_the_token(github: FakeGitHub):
    github.fail("GET", r"/releases$", status=401, times=1)
    with pytest.raises(ForgeError) as caught:
        forge_for(github, TOKEN).list_releases()
    assert "401" in str(caught.value) and "token is missing or expired" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN in github.tokens_seen
    missing = GitHubForge("acme/nope", token=TOKEN, base_url=github.url, retry=default_retry(backoff=0))
    with pytest.raises(ForgeError, match="check that acme/nope exists") as caught:
        missing.list_releases()
    assert TOKEN not in str(caught.value)


def test_git_gets_the_token_per_command_and_never_keeps_it_on_disk(github: FakeGitHub, tmp_path: Path):
    remote = forge_for(github, TOKEN).remote()
    env = remote.env()
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader" and env["GIT_CONFIG_VALUE_0"].startswith(
        "Authorization: Basic "
    )
    assert TOKEN not in remote.url and TOKEN not in repr(remote)
    repo = gitops.clone(remote, tmp_path / "clone")
    assert "extraheader" not in (tmp_path / "clone" / ".git" / "config").read_text().lower()
    assert (
        remote.redact(f"failed with {TOKEN} and {env['GIT_CONFIG_VALUE_0'].split()[-1]}") == "failed with *** and ***"
    )
    assert repo.head.commit.message.startswith("Start")


def test_pygithubs_pacing_is_kept_for_github_and_dropped_only_for_a_server_on_this_machine(github: FakeGitHub):
    def pauses(forge: GitHubForge) -> tuple[float | None, float | None]:
        requester = forge._gh.requester  # PyGithub keeps them private: 0.25 s a request, 1 s a write
        return requester._Requester__seconds_between_requests, requester._Requester__seconds_between_writes

    assert pauses(GitHubForge("acme/x", token=TOKEN)) == (0.25, 1.0)
    assert pauses(GitHubForge("acme/x", token=TOKEN, base_url="https://ghe.example.com/api/v3")) == (0.25, 1.0)
    assert pauses(GitHubForge("acme/x", token=TOKEN, base_url="http://127.0.0.2.example.com/")) == (0.25, 1.0)
    assert pauses(forge_for(github, TOKEN)) == (None, None)  # the fake listens on 127.0.0.1
    assert pauses(GitHubForge("acme/x", token=TOKEN, base_url="http://localhost:8080/api/v3")) == (None, None)
