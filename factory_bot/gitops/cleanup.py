"""Clean up what requests leave behind: stale `factory/*` branches, bot PRs of closed issues, old build
directories and toolchains. Plan, then apply: `plan_*` return plain data (what `--dry-run` prints) and
`apply` is the one place that acts.

Never touched: tags, releases, the default branch, any branch outside `factory/`, and a branch holding a
commit the bot did not author (someone built on it by hand). A branch is deleted only if it still points
where it pointed when planned (`--force-with-lease`), so a push in between keeps it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from factory_bot.build import toolchain
from factory_bot.forge import git as gitrepo
from factory_bot.forge.base import Forge
from factory_bot.gitops.publish import branch_for

BRANCH_PREFIX = branch_for("")  # "factory/"
CLOSES = re.compile(r"^Closes #(\d+)\s*$", re.MULTILINE)  # what pr_body.md.j2 writes
PR_MARKER = "<!-- mcp-factory:pr "  # ... and the hidden marker it ends with
# Directories the bot's commands create under the temp dir (a crash or kill can leave them behind).
TEMP_PREFIXES = (
    "factory-flow-",
    "factory-validate-",
    "factory-bench-",
    "factory-release-",
    "factory-parse-",
    "mcp-factory-install-",
    "mcp-factory-home-",
)


@dataclass(frozen=True)
class Step:
    """One thing cleanup would do (or keeps on purpose, with the reason)."""

    action: str  # close-pull | delete-branch | remove-dir | keep
    target: str
    reason: str
    sha: str = ""  # a branch's tip when planned
    pull: int | None = None


@dataclass
class CleanupPlan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "forge: not configured"

    @property
    def actions(self) -> list[Step]:
        return [s for s in self.steps if s.action != "keep"]

    def to_json(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "notes": self.notes}

    def text(self) -> str:
        lines = [f"  {s.action:<13} {s.target:<40} {s.reason}" for s in self.steps]
        return "\n".join(self.notes + (lines or ["  nothing to clean up"]))


def bot_email() -> str:
    return os.environ.get("FACTORY_GIT_EMAIL", gitrepo.BOT_EMAIL)


# -- the forge: branches and pull requests ---------------------------------------------------------
def plan_forge(forge: Forge, workdir: Path, *, now: float | None = None, older_than_hours: float = 24) -> CleanupPlan:
    """Stale bot branches and bot PRs of closed issues, read from the forge and a fresh clone."""
    now = time.time() if now is None else now
    remote = forge.remote()
    default = forge.default_branch
    dest = workdir / "cleanup-repo"
    if dest.exists():
        shutil.rmtree(dest)
    repo = gitrepo.clone(remote, dest, branch=default)
    gitrepo.fetch(repo, f"+refs/heads/{BRANCH_PREFIX}*:refs/remotes/origin/{BRANCH_PREFIX}*")
    branches = {
        ref.remote_head: ref.commit
        for ref in repo.remote("origin").refs
        if ref.remote_head.startswith(BRANCH_PREFIX) and ref.remote_head != default
    }
    # The bot's PRs carry its marker (pr_body.md.j2); a person's PR from a fork is never touched.
    pulls = {p.head: p for p in forge.list_pulls() if p.head.startswith(BRANCH_PREFIX) and PR_MARKER in p.body}
    plan = CleanupPlan()
    for name in sorted(set(branches) | set(pulls)):
        commit = branches.get(name)
        pr = pulls.get(name)
        strangers = _foreign_authors(repo, default, name) if commit is not None else []
        if strangers:
            plan.steps.append(
                Step(
                    "keep",
                    name,
                    f"has commits by {', '.join(strangers)}, not only the bot's",
                    commit.hexsha if commit else "",
                    pr.number if pr else None,
                )
            )
            continue
        if pr is not None:
            found = CLOSES.search(pr.body)
            issue = forge.get_issue(int(found[1])) if found else None
            if issue is None or issue.state != "closed":
                plan.steps.append(
                    Step(
                        "keep",
                        name,
                        f"pull request #{pr.number} is open for an open request",
                        commit.hexsha if commit else "",
                        pr.number,
                    )
                )
                continue
            reason = f"its request #{issue.number} was closed"
            plan.steps.append(Step("close-pull", f"#{pr.number}", reason, pull=pr.number))
            if commit is not None:
                plan.steps.append(Step("delete-branch", name, reason, commit.hexsha, pr.number))
            continue
        assert commit is not None
        age_hours = (now - commit.committed_date) / 3600
        if age_hours < older_than_hours:
            plan.steps.append(
                Step(
                    "keep",
                    name,
                    f"no pull request, but only {age_hours:.0f} h old (a publish may be opening it)",
                    commit.hexsha,
                )
            )
            continue
        plan.steps.append(Step("delete-branch", name, "no open pull request", commit.hexsha))
    return plan


def _foreign_authors(repo: gitrepo.Repo, default: str, branch: str) -> list[str]:
    """Authors (by email) of commits on `branch` but not on the default branch, other than the bot."""
    emails = gitrepo.log(repo, "--format=%ae", f"origin/{default}..origin/{branch}").split()
    return sorted({e for e in emails if e.lower() != bot_email().lower()})


# -- this machine: build directories and toolchains ------------------------------------------------
def plan_local(
    *, now: float | None = None, older_than_hours: float = 24, cache: Path | None = None, temp: Path | None = None
) -> CleanupPlan:
    """Old toolchains (other than the current lockfile's), half-finished installs and old temp build dirs."""
    now = time.time() if now is None else now
    cache = cache or toolchain.cache_root()
    temp = temp or Path(tempfile.gettempdir())
    current = f"toolchain-{toolchain.lock_hash()}"
    plan = CleanupPlan()
    for path in sorted(cache.glob("toolchain-*")) if cache.is_dir() else []:
        if path.is_symlink() or not path.is_dir() or path.name == current:
            continue
        old = _older(path, now, older_than_hours)
        if ".staging-" in path.name:
            if old:
                plan.steps.append(Step("remove-dir", str(path), "a toolchain install that never finished"))
        elif ".tampered-" in path.name:
            plan.steps.append(Step("remove-dir", str(path), "a toolchain moved aside because it was changed"))
        else:
            plan.steps.append(Step("remove-dir", str(path), f"an older toolchain (the current one is {current})"))
    for path in sorted(temp.iterdir()) if temp.is_dir() else []:
        if (
            path.name.startswith(TEMP_PREFIXES)
            and path.is_dir()
            and not path.is_symlink()
            and _older(path, now, older_than_hours)
            and path.stat().st_uid == os.getuid()
        ):
            plan.steps.append(Step("remove-dir", str(path), f"a build directory older than {older_than_hours:g} h"))
    return plan


def _older(path: Path, now: float, hours: float) -> bool:
    return now - path.lstat().st_mtime > hours * 3600


# -- apply -----------------------------------------------------------------------------------------
def apply(
    plan: CleanupPlan, forge: Forge | None, workdir: Path, say: Callable[[str], None] = lambda _m: None
) -> list[Step]:
    """Carry out the plan; returns the steps done (a branch that moved since planning is left alone)."""
    done = []
    repo = gitrepo.open_clone(workdir / "cleanup-repo") if (workdir / "cleanup-repo").is_dir() else None
    for step in plan.actions:
        if step.action == "close-pull" and forge is not None and step.pull is not None:
            forge.create_comment(
                step.pull,
                f"Closed by MCP Factory's cleanup: {step.reason}. Reopen the request "
                "and comment `/factory retry` on it to build it again.",
            )
            forge.close_pull(step.pull)
        elif step.action == "delete-branch" and forge is not None and repo is not None:
            if not _delete_branch(repo, forge, step):
                say(f"kept {step.target}: it moved since the plan was made")
                continue
        elif step.action == "remove-dir":
            path = Path(step.target)
            if path.is_symlink() or not path.is_dir():
                continue
            shutil.rmtree(path)
            lock = path.parent / f".{path.name}.lock"
            if path.name.startswith("toolchain-") and lock.is_file():
                lock.unlink()
        else:
            continue
        say(f"{step.action} {step.target}")
        done.append(step)
    return done


def _delete_branch(repo: gitrepo.Repo, forge: Forge, step: Step) -> bool:
    """Delete a bot branch on the remote, only if it still points at the planned commit."""
    name = step.target
    if not name.startswith(BRANCH_PREFIX) or name == forge.default_branch or not step.sha:
        raise ValueError(f"refusing to delete {name!r}: cleanup only deletes {BRANCH_PREFIX}* branches")
    return gitrepo.delete_branch(repo, forge.remote(), name, step.sha)


def run(
    forge: Forge | None,
    workdir: Path,
    *,
    apply_changes: bool,
    older_than_hours: float = 24,
    now: float | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Plan the whole cleanup (forge when configured, plus this machine) and apply it if asked."""
    plan = CleanupPlan()
    if forge is None:
        plan.notes.append(
            "forge: not configured (set GITHUB_REPOSITORY and GITHUB_TOKEN, or --forge local "
            "--repo PATH); only this machine is cleaned"
        )
    else:
        forged = plan_forge(forge, workdir, now=now, older_than_hours=older_than_hours)
        plan.steps += forged.steps
    plan.steps += plan_local(now=now, older_than_hours=older_than_hours).steps
    done = apply(plan, forge, workdir, say) if apply_changes else []
    return plan.to_json() | {
        "applied": apply_changes,
        "done": [asdict(s) for s in done],
        "text": plan.text(),
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
