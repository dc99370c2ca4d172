"""`factory-bot cleanup`: stale bot branches and bot PRs of closed requests go, old build dirs and toolchains go;
a dry run changes nothing; tags, main, other branches and branches someone else committed to always stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from factory_bot.build import toolchain
from factory_bot.forge import git as gitops
from factory_bot.gitops import cleanup
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

BOT = {
    "GIT_AUTHOR_NAME": gitops.BOT_NAME,
    "GIT_AUTHOR_EMAIL": gitops.BOT_EMAIL,
    "GIT_COMMITTER_NAME": gitops.BOT_NAME,
    "GIT_COMMITTER_EMAIL": gitops.BOT_EMAIL,
}
ALICE = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}
DAY = 24 * 3600


def push_branch(
    bare: Path,
    work: Path,
    name: str,
    *,
    by: dict[str, str] = BOT,
    age_days: float = 3,
    then_by: dict[str, str] | None = None,
) -> str:
    """A branch off main with one commit by `by` (and optionally one more by `then_by`), `age_days` old."""
    repo = git.Repo(work) if work.exists() else git.Repo.clone_from(str(bare), work)
    repo.git.fetch("origin")
    repo.git.checkout("-B", name, "origin/main")
    stamp = f"@{int(time.time() - age_days * DAY)} +0000"
    for identity in filter(None, [by, then_by]):
        (work / f"{name.replace('/', '-')}-{identity['GIT_AUTHOR_NAME']}.txt").write_text(name)
        repo.git.add("--all")
        repo.git.commit("-m", f"work on {name}", env=identity | {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    repo.git.push("--force", "origin", f"HEAD:refs/heads/{name}")
    return repo.head.commit.hexsha


def remote_refs(bare: Path) -> set[str]:
    return {line.split()[1] for line in git.Repo(bare).git.show_ref().splitlines()}


def test_stale_branches_and_prs_of_closed_requests_go_and_nothing_else(github: FakeGitHub, tmp_path: Path):
    work = tmp_path / "work"
    forge = forge_for(github)
    open_issue = github.open_issue("Open request", "x")["number"]
    closed_issue = github.open_issue("Closed request", "x")["number"]
    closed_by_hand = github.open_issue("Closed, but a person worked on its branch", "x")["number"]
    for name, issue, then_by in (
        ("factory/open-one", open_issue, None),
        ("factory/closed-one", closed_issue, None),
        ("factory/closed-handmade", closed_by_hand, ALICE),
    ):
        push_branch(github.bare, work, name, then_by=then_by)
        forge.create_pull(
            head=name,
            base="main",
            title=name,
            body=f"## {name}\n\nCloses #{issue}\n\n<!-- mcp-factory:pr {name[8:]} -->\n",
        )
    # A person's pull request (no bot marker) for a closed issue, from a branch named like the bot's: left alone.
    push_branch(github.bare, work, "factory/lookalike", by=ALICE, age_days=0)
    lookalike = forge.create_pull(head="factory/lookalike", base="main", title="mine", body=f"Closes #{closed_issue}")
    github.close_issue(closed_issue)
    github.close_issue(closed_by_hand)
    push_branch(github.bare, work, "factory/orphan")  # no PR, three days old
    push_branch(github.bare, work, "factory/fresh", age_days=0)  # no PR yet: a publish may be opening it
    push_branch(github.bare, work, "factory/hand-made", then_by=ALICE)  # no PR, but a person committed to it
    push_branch(github.bare, work, "feature/x", age_days=10)  # not the bot's
    repo = git.Repo(work)
    repo.git.tag("-a", "calculator-v1.0.0", "-m", "release", "origin/main", env=BOT)  # a runner has no identity
    repo.git.push("origin", "refs/tags/calculator-v1.0.0")
    before = remote_refs(github.bare)

    plan = cleanup.plan_forge(forge, tmp_path / "plan")

    steps = {(s.action, s.target) for s in plan.steps}
    pr_closed = next(n for n, p in github.pulls.items() if p["head"] == "factory/closed-one")
    assert {s for s in steps if s[0] != "keep"} == {
        ("close-pull", f"#{pr_closed}"),
        ("delete-branch", "factory/closed-one"),
        ("delete-branch", "factory/orphan"),
    }
    kept = {s.target: s.reason for s in plan.steps if s.action == "keep"}
    assert set(kept) == {
        "factory/open-one",
        "factory/fresh",
        "factory/hand-made",
        "factory/closed-handmade",
        "factory/lookalike",
    }
    assert "alice@example.com" in kept["factory/hand-made"] and "alice@example.com" in kept["factory/closed-handmade"]
    assert remote_refs(github.bare) == before  # planning changes nothing

    done = cleanup.apply(plan, forge, tmp_path / "plan")

    assert len(done) == 3
    after = remote_refs(github.bare)
    assert before - after == {"refs/heads/factory/closed-one", "refs/heads/factory/orphan"}
    assert {"refs/heads/main", "refs/tags/calculator-v1.0.0", "refs/heads/feature/x"} <= after
    assert github.pulls[pr_closed]["state"] == "closed"
    assert [p["state"] for p in github.pulls.values()].count("open") == 3
    assert github.pulls[lookalike.number]["state"] == "open"
    assert "request #" in github.comments_on(pr_closed)[0]["body"]
    # A second run finds nothing more to do.
    assert cleanup.plan_forge(forge, tmp_path / "again").actions == []


def test_a_branch_that_moved_after_planning_is_kept(github: FakeGitHub, tmp_path: Path):
    work = tmp_path / "work"
    push_branch(github.bare, work, "factory/orphan")
    forge = forge_for(github)
    plan = cleanup.plan_forge(forge, tmp_path / "plan")
    assert [s.target for s in plan.actions] == ["factory/orphan"]
    push_branch(github.bare, work, "factory/orphan", age_days=0)  # a new publish lands in between
    assert cleanup.apply(plan, forge, tmp_path / "plan") == []
    assert "refs/heads/factory/orphan" in remote_refs(github.bare)


def test_only_factory_branches_can_ever_be_deleted(github: FakeGitHub, tmp_path: Path):
    forge = forge_for(github)
    cleanup.plan_forge(forge, tmp_path)
    for name in ("main", "feature/x", "refs/tags/calculator-v1.0.0"):
        bad = cleanup.CleanupPlan([cleanup.Step("delete-branch", name, "test", "0" * 40)])
        with pytest.raises(ValueError, match="only deletes factory/"):
            cleanup.apply(bad, forge, tmp_path)


def _aged(path: Path, days: float) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_old_toolchains_unfinished_installs_and_old_build_dirs_go(tmp_path: Path):
    cache, temp = tmp_path / "cache", tmp_path / "tmp"
    current = _aged(cache / f"toolchain-{toolchain.lock_hash()}", 30)
    older = _aged(cache / "toolchain-0123456789abcdef", 0)
    (cache / ".toolchain-0123456789abcdef.lock").write_text("")
    staging = _aged(cache / f"toolchain-{toolchain.lock_hash()}.staging-4242", 2)
    old_build = _aged(temp / "factory-flow-abc", 2)
    new_build = _aged(temp / "factory-flow-def", 0)
    unrelated = _aged(temp / "someone-elses-dir", 5)
    link = temp / "mcp-factory-home-link"
    link.symlink_to(unrelated)

    plan = cleanup.plan_local(cache=cache, temp=temp)

    assert {Path(s.target) for s in plan.actions} == {older, staging, old_build}
    cleanup.apply(plan, None, tmp_path)
    assert current.exists() and new_build.exists() and unrelated.exists() and link.is_symlink()
    assert not older.exists() and not staging.exists() and not old_build.exists()
    assert not (cache / ".toolchain-0123456789abcdef.lock").exists()


def test_the_command_is_a_dry_run_unless_told_to_apply(tmp_path: Path):
    cache, temp = tmp_path / "cache", tmp_path / "tmp"
    older = _aged(cache / "toolchain-0123456789abcdef", 0)
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_REPOSITORY", "GITHUB_TOKEN")}
    env |= {"FACTORY_BOT_CACHE": str(cache), "TMPDIR": str(_aged(temp, 0))}

    def factory_bot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "factory_bot", "cleanup", *args],
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )

    dry = factory_bot()
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "forge: not configured" in dry.stdout and str(older) in dry.stdout
    assert older.exists()
    applied = factory_bot("--apply")
    assert applied.returncode == 0 and "cleaned up" in applied.stdout and not older.exists()
