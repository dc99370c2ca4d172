"""Nothing published is ever lost, replaced or moved: crashes mid-release, races, re-tags, and what main gets.

Real builds (node, tsc, the MCP client; one per spec per run, shared by the stories), real PyGithub against the
fake GitHub, real git on a bare repository.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.build.pipeline import build
from factory_bot.errors import ForgeError
from factory_bot.forge import git as gitops
from factory_bot.forge.github import GitHubForge
from factory_bot.forge.local import LocalForge
from tests.fakes.git_repos import merge_branch
from tests.fakes.github_api import FakeGitHub
from tests.faults_support import BOB, SMALL, status_of, yaml_request
from tests.github_forge import forge_for

TAG = "echo-box-v1.0.0"
ASSETS = {"echo-box-1.0.0.tgz", "echo-box-1.0.0.tgz.sha256"}


class Killed(BaseException):
    """The job dying mid-step (SIGKILL, a cancelled run): no handler of ours runs, nothing is cleaned up."""


@pytest.fixture(autouse=True)
def _one_real_build_per_spec(shared_builder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stories are about publishing: their flows' builder hands out the run's one real build of each spec
    (conftest's `shared_builder`) instead of building it again on every run of a flow."""
    monkeypatch.setattr(f"{__name__}.build", shared_builder)


def context(github: FakeGitHub, workdir: Path) -> flows.Context:
    workdir.mkdir(parents=True, exist_ok=True)
    return flows.Context(workdir=workdir, forge=lambda: forge_for(github), builder=build)


def merged_request(github: FakeGitHub, tmp_path: Path) -> tuple[int, str]:
    """An issue turned into a PR and merged: (issue number, main's sha)."""
    issue = github.open_issue("Echo", yaml_request(SMALL))
    opened = flows.on_issue(github.issue_event(issue["number"]), context(github, tmp_path / "issue"))
    return issue["number"], merge_branch(
        github.bare, "factory/echo-box", message=f"Merge pull request #{opened['pull']}"
    )


def assets(github: FakeGitHub) -> dict[str, dict[str, Any]]:
    release = github.release_by_tag(TAG)
    return {a["name"]: a for a in release["assets"]} if release else {}


@pytest.mark.e2e
@pytest.mark.parametrize("dies_at", ["echo-box-1.0.0.tgz", "echo-box-1.0.0.tgz.sha256"])
def test_a_run_killed_between_creating_the_release_and_its_uploads_is_completed_by_the_next(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dies_at: str
):
    number, main_sha = merged_request(github, tmp_path)
    upload = GitHubForge.upload_asset

    def dies(self: GitHubForge, release: Any, path: Path, *, name: str, content_type: str) -> Any:
        if name == dies_at:
            raise Killed()
        return upload(self, release, path, name=name, content_type=content_type)

    monkeypatch.setattr(GitHubForge, "upload_asset", dies)
    with pytest.raises(Killed):
        flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push1"))
    assert github.release_by_tag(TAG) is not None and ASSETS - set(assets(github))
    before = dict(assets(github))

    monkeypatch.setattr(GitHubForge, "upload_asset", upload)
    released = flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push2"))

    assert released["released"] == [TAG] and len(github.releases) == 1 and set(assets(github)) == ASSETS
    for name, asset in before.items():  # what the dead run had published is kept as it was, not replaced
        assert assets(github)[name]["id"] == asset["id"]
    package = github.blobs[assets(github)["echo-box-1.0.0.tgz"]["id"]]
    checksum = github.blobs[assets(github)["echo-box-1.0.0.tgz.sha256"]["id"]].decode()
    assert checksum.split()[0] == hashlib.sha256(package).hexdigest()
    assert github.issues[number]["labels"] == ["mcp-factory: released"]


@pytest.mark.e2e
def test_a_released_version_never_moves_and_a_changed_spec_without_a_bump_is_refused(
    github: FakeGitHub, tmp_path: Path
):
    number, main_sha = merged_request(github, tmp_path)
    flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push1"))
    tag_sha = git.Repo(github.bare).commit(TAG).hexsha
    published = {name: github.blobs[a["id"]] for name, a in assets(github).items()}

    # A person merges a spec change that forgot the version (the review check said so; merged anyway).
    work = git.Repo.clone_from(str(github.bare), tmp_path / "bob", branch="main")
    spec = tmp_path / "bob" / "specs" / "echo-box.yaml"
    spec.write_text(spec.read_text().replace("Echoes text.", "Echoes text, loudly."))
    work.git.commit("-am", f"Louder\n\nFactory-Issue: #{number}", env=BOB)
    work.git.push("origin", "HEAD:refs/heads/main")

    outcome = flows.on_push(github.push_event(work.head.commit.hexsha), context(github, tmp_path / "push2"))

    assert outcome["ok"] is False and "bump the version" in outcome["error"]
    assert git.Repo(github.bare).commit(TAG).hexsha == tag_sha
    assert {name: github.blobs[a["id"]] for name, a in assets(github).items()} == published
    status = status_of(github, number)
    assert status.startswith(":x:") and "bump the version" in status and "version:" in status


@pytest.mark.e2e
def test_the_bot_changes_main_only_through_pull_requests_and_its_index(github: FakeGitHub, tmp_path: Path):
    _, main_sha = merged_request(github, tmp_path)
    flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push"))
    repo = git.Repo(github.bare)
    bot = gitops.GitRemote("").env()["GIT_AUTHOR_EMAIL"]
    bot_commits = [c for c in repo.iter_commits("main", first_parent=True) if c.author.email == bot]
    assert bot_commits, "the registry refresh is the bot's one commit on main, made as the bot"
    for commit in bot_commits:
        assert set(commit.stats.files) <= {"REGISTRY.md", "registry.json"}, commit.stats.files
    servers = [c for c in repo.iter_commits("main", first_parent=True, paths="servers")]
    assert servers and all(len(c.parents) == 2 for c in servers)  # only merges of pull requests


@pytest.mark.e2e
def test_two_runs_for_the_same_issue_at_once_open_one_pr_and_one_status_comment(github: FakeGitHub, tmp_path: Path):
    issue = github.open_issue("Echo", yaml_request(SMALL))
    event = github.issue_event(issue["number"])
    start = threading.Barrier(2, timeout=60)
    outcomes: list[Any] = []

    def run(name: str) -> None:
        ctx = context(github, tmp_path / name)
        start.wait()
        try:
            outcomes.append(flows.on_issue(event, ctx))
        except BaseException as exc:  # recorded and asserted on below
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(f"run{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert all(isinstance(o, dict) for o in outcomes) and len(outcomes) == 2, outcomes
    assert len(github.pulls) == 1 and {o["pull"] for o in outcomes} == set(github.pulls)
    assert status_of(github, issue["number"]).startswith(":white_check_mark:")
    head = git.Repo(github.bare).commit("factory/echo-box")
    assert head.author.email == gitops.GitRemote("").env()["GIT_AUTHOR_EMAIL"] and head.parents[0] == git.Repo(
        github.bare
    ).commit("main")


def test_a_published_asset_is_never_replaced_with_different_bytes(github: FakeGitHub, tmp_path: Path):
    work = git.Repo.clone_from(str(github.bare), tmp_path / "w")
    local_repo = git.Repo.init(tmp_path / "local", initial_branch="main")
    local_repo.git.commit("--allow-empty", "-m", "start", env=BOB)
    for forge, repo in ((forge_for(github), work), (LocalForge(tmp_path / "local"), local_repo)):
        repo.git.tag("x-v1.0.0")
        if forge.kind == "github":
            repo.git.push("origin", "x-v1.0.0")
        release = forge.create_release(tag="x-v1.0.0", name="x 1.0.0", body="notes")
        (tmp_path / "a.tgz").write_bytes(b"the published package")
        first = forge.upload_asset(release, tmp_path / "a.tgz", name="x-1.0.0.tgz", content_type="application/gzip")
        again = forge.upload_asset(
            forge.get_release("x-v1.0.0"), tmp_path / "a.tgz", name="x-1.0.0.tgz", content_type="application/gzip"
        )
        assert again.id == first.id
        (tmp_path / "a.tgz").write_bytes(b"something else, same name")
        with pytest.raises(ForgeError, match="never replaced") as caught:
            forge.upload_asset(
                forge.get_release("x-v1.0.0"), tmp_path / "a.tgz", name="x-1.0.0.tgz", content_type="application/gzip"
            )
        assert "bump the version" in (caught.value.hint or "")
        assert forge.download_asset(forge.get_release("x-v1.0.0").asset("x-1.0.0.tgz")) == b"the published package"
