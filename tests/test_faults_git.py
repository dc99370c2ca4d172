"""Someone pushed meanwhile: the bot re-reads and retries, and never force-pushes over a person's commits.

Real bare repositories and a second clone that pushes, as a person (or a second bot run) would.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.errors import ForgeError
from factory_bot.forge import git as gitops
from tests.fakes.git_repos import seed_bare_repo
from tests.fakes.github_api import FakeGitHub
from tests.faults_support import BOB, SMALL, built_request, publish_context, status_of, yaml_request
from tests.github_forge import TOKEN

BRANCH = "factory/echo-box"


def push_as(
    bare: Path, work: Path, env: dict[str, str], *, branch: str = BRANCH, text: str = "a person's note\n"
) -> str:
    """Clone `bare`, commit one file on `branch` as `env`'s identity, push it; the new sha."""
    repo = git.Repo.clone_from(str(bare), work, branch=branch)
    (work / "NOTES.md").write_text(text)
    repo.git.add("NOTES.md")
    repo.git.commit("-m", "A note of mine", env=env)
    repo.git.push("origin", f"HEAD:refs/heads/{branch}")
    return repo.head.commit.hexsha


def bot_env() -> dict[str, str]:
    env = gitops.GitRemote("x").env()
    return {k: v for k, v in env.items() if k.startswith("GIT_AUTHOR") or k.startswith("GIT_COMMITTER")}


def publish(repo_dir: Path, bare: Path, *, text: str) -> tuple[str, bool]:
    remote = gitops.GitRemote(str(bare))
    repo = gitops.clone(remote, repo_dir)
    return gitops.publish_branch(
        repo,
        remote,
        base="main",
        branch=BRANCH,
        files={"specs/echo-box.yaml": text},
        replace_dirs=[],
        message="echo-box 1.0.0",
    )


@pytest.mark.parametrize("pusher", ["another bot run", "a person"])
def test_a_push_that_lands_between_read_and_write_is_seen_and_judged_again(
    tmp_path: Path, pusher: str, monkeypatch: pytest.MonkeyPatch
):
    bare = seed_bare_repo(tmp_path / "origin.git")
    first, _ = publish(tmp_path / "run1", bare, text="one\n")
    identity = bot_env() if pusher == "another bot run" else BOB
    judge = gitops._refuse_foreign_commits
    pushed_meanwhile: list[str] = []

    def someone_pushes_right_after_the_bot_read(*args, **kwargs):  # between the bot's fetch and its push
        judge(*args, **kwargs)
        if not pushed_meanwhile:
            pushed_meanwhile.append(push_as(bare, tmp_path / "other", identity))

    monkeypatch.setattr(gitops, "_refuse_foreign_commits", someone_pushes_right_after_the_bot_read)
    if pusher == "a person":
        with pytest.raises(ForgeError, match="commits the bot did not make .* by Bob"):
            publish(tmp_path / "run2", bare, text="two\n")
        assert git.Repo(bare).commit(BRANCH).hexsha == pushed_meanwhile[0]  # the person's commit stays
    else:
        sha, pushed = publish(tmp_path / "run2", bare, text="two\n")
        assert pushed and git.Repo(bare).commit(BRANCH).hexsha == sha != first
        assert git.Repo(bare).git.show(f"{BRANCH}:specs/echo-box.yaml") == "two"


def test_a_person_s_commit_on_the_bot_branch_stops_the_bot_and_the_issue_says_so(tmp_path: Path):
    bare = seed_bare_repo(tmp_path / "origin.git")
    with FakeGitHub(bare) as github:
        issue = github.open_issue("Echo", yaml_request(SMALL))
        event = github.issue_event(issue["number"])
        work = built_request(tmp_path / "run1", issue["number"])
        opened = flows.on_issue(event, publish_context(github, work), stage="publish")
        human = push_as(bare, tmp_path / "bob", BOB)
        body_before = github.pulls[opened["pull"]]["body"]

        # The requester edits the issue; the bot must not overwrite Bob's commit to apply it.
        changed = SMALL.replace("Echoes text.", "Echoes text, loudly.")
        work2 = built_request(tmp_path / "run2", issue["number"], changed)
        with pytest.raises(ForgeError) as caught:
            flows.on_issue(event, publish_context(github, work2), stage="publish")

        assert git.Repo(bare).commit(BRANCH).hexsha == human
        assert "by Bob" in str(caught.value) and "never overwrites" in str(caught.value)
        status = status_of(github, issue["number"])
        assert status.startswith(":x:") and "by Bob" in status and f"delete the branch {BRANCH}" in status
        assert github.pulls[opened["pull"]]["body"] == body_before and len(github.pulls) == 1

        # The CLI says the same and exits non-zero.
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(event))
        env = os.environ | {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": github.slug}
        run = subprocess.run(
            [
                "factory-bot",
                "on-issue",
                "--stage",
                "publish",
                "--workdir",
                str(work2),
                "--event",
                str(event_file),
                "-q",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 3, run.stderr
        assert "by Bob" in run.stderr and "hint:" in run.stderr and TOKEN not in run.stderr + run.stdout
        assert git.Repo(bare).commit(BRANCH).hexsha == human


def test_the_bot_replaces_its_own_earlier_commit_without_force_over_anyone(tmp_path: Path):
    bare = seed_bare_repo(tmp_path / "origin.git")
    first, _ = publish(tmp_path / "run1", bare, text="one\n")
    again, pushed = publish(tmp_path / "run2", bare, text="one\n")
    assert (again, pushed) == (first, False)  # same tree on the same base: nothing to push
    second, pushed = publish(tmp_path / "run3", bare, text="two\n")
    assert pushed and git.Repo(bare).commit(BRANCH).hexsha == second
    assert git.Repo(bare).commit(BRANCH).parents[0].hexsha == git.Repo(bare).commit("main").hexsha
