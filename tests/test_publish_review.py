"""PR review: a pull request whose committed server drifted from its spec fails, with one review comment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import git
import pytest

from factory_bot.build.render import write_server
from factory_bot.forge.local import LocalForge
from factory_bot.gitops.publish import REVIEW_MARKER
from factory_bot.spec.loader import dump_spec, load_spec_file

SPECS = Path(__file__).resolve().parent.parent / "specs"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "a@example.com",
}


def commit(repo: git.Repo, message: str) -> str:
    repo.git.add("--all")
    repo.git.commit("-m", message, env=IDENTITY)
    return repo.head.commit.hexsha


def pr_event(path: Path, repo_dir: str, number: int, head: str, base: str) -> Path:
    side = {"repo": {"clone_url": repo_dir}}
    path.write_text(
        json.dumps(
            {
                "action": "synchronize",
                "number": number,
                "pull_request": {
                    "number": number,
                    "head": side | {"sha": head, "ref": "change"},
                    "base": side | {"sha": base, "ref": "main"},
                },
            }
        )
    )
    return path


def review(where: Path, event: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`factory-bot on-pr` with the local forge, run from an empty directory like a user would."""
    return subprocess.run(
        ["factory-bot", "on-pr", "--forge", "local", "--repo", str(where), *options, "--event", str(event), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
    )


@pytest.mark.e2e
def test_review_fails_on_hand_edited_server_code_and_an_unbumped_version(tmp_path: Path):
    where = tmp_path / "servers"
    repo = git.Repo.init(where, initial_branch="main")
    spec = load_spec_file(SPECS / "calculator.yaml")
    (where / "specs").mkdir()
    (where / "specs" / "calculator.yaml").write_text(dump_spec(spec))
    write_server(spec, where / "servers" / "calculator")
    base = commit(repo, "calculator 1.0.0")

    repo.git.checkout("-b", "change")
    changed = spec.model_copy(update={"tools": spec.tools[:3]})  # divide removed, version left at 1.0.0
    (where / "specs" / "calculator.yaml").write_text(dump_spec(changed))
    index = where / "servers" / "calculator" / "src" / "index.ts"
    index.write_text(index.read_text() + "// edited by hand\n")
    head = commit(repo, "drop divide")
    event = pr_event(tmp_path / "pr.json", str(where), 5, head, base)

    result = review(where, event)
    assert result.returncode == 1, result.stderr
    comment = LocalForge(where).find_comment(5, REVIEW_MARKER)
    assert comment is not None and ":x: failed" in comment.body
    assert "drift: servers/calculator/src/index.ts" in comment.body
    assert "use 2.0.0" in comment.body and "tool divide removed" in comment.body

    # The author regenerates and bumps: the same comment turns green.
    bumped = changed.model_copy(update={"version": "2.0.0"})
    (where / "specs" / "calculator.yaml").write_text(dump_spec(bumped))
    write_server(bumped, where / "servers" / "calculator")
    head = commit(repo, "regenerate, 2.0.0")
    event = pr_event(tmp_path / "pr.json", str(where), 5, head, base)
    result = review(where, event, "--workdir", str(tmp_path / "w2"))
    assert result.returncode == 0, result.stderr + result.stdout
    forge = LocalForge(where)
    comment = forge.find_comment(5, REVIEW_MARKER)
    assert ":white_check_mark: passed" in comment.body and "matches what the spec generates" in comment.body
    assert len([c for c in json.loads(forge.state_file.read_text())["comments"] if c["issue"] == 5]) == 1


def test_review_refuses_a_spec_whose_file_name_and_name_disagree(tmp_path: Path):
    where = tmp_path / "servers"
    repo = git.Repo.init(where, initial_branch="main")
    (where / "README.md").write_text("# servers\n")
    base = commit(repo, "start")
    repo.git.checkout("-b", "change")
    spec = load_spec_file(SPECS / "calculator.yaml")
    (where / "specs").mkdir()
    (where / "specs" / "weather.yaml").write_text(dump_spec(spec))  # publishes `calculator` under another file
    head = commit(repo, "a calculator in weather's clothes")
    event = pr_event(tmp_path / "pr.json", str(where), 6, head, base)

    result = review(where, event)
    assert result.returncode == 1, result.stderr
    comment = LocalForge(where).find_comment(6, REVIEW_MARKER)
    assert comment is not None and "file name and its name must agree" in comment.body


@pytest.mark.e2e
def test_review_reads_a_private_pull_request_from_the_jobs_own_checkout(tmp_path: Path):
    where = tmp_path / "servers"
    repo = git.Repo.init(where, initial_branch="main")
    (where / "README.md").write_text("# servers\n")
    base = commit(repo, "start")
    repo.git.checkout("-b", "change")
    spec = load_spec_file(SPECS / "calculator.yaml")
    (where / "specs").mkdir()
    (where / "specs" / "calculator.yaml").write_text(dump_spec(spec))
    write_server(spec, where / "servers" / "calculator")
    head = commit(repo, "add the calculator")
    # The clone URL needs credentials the check job does not hold: here, a path that does not exist.
    event = pr_event(tmp_path / "pr.json", str(tmp_path / "no-access"), 7, head, base)

    result = review(where, event, "--checkout", str(where))
    assert result.returncode == 0, result.stderr + result.stdout
    comment = LocalForge(where).find_comment(7, REVIEW_MARKER)
    assert comment is not None and ":white_check_mark: passed" in comment.body


def test_a_review_json_saying_passed_from_a_check_job_that_failed_is_posted_as_failed(tmp_path: Path):
    """The comment job reads review.json from the job that ran the PR's code; the runner's verdict wins."""
    repo = git.Repo.init(tmp_path / "servers", initial_branch="main")
    (tmp_path / "servers" / "README.md").write_text("# servers\n")
    base = commit(repo, "start")
    work = tmp_path / "work"
    work.mkdir()
    (work / "review.json").write_text(
        json.dumps(
            {
                "ok": True,
                "pull": 4,
                "servers": [{"name": "calculator", "version": "1.0.0", "ok": True, "findings": ["all good"]}],
            }
        )
    )
    event = pr_event(tmp_path / "pr.json", str(tmp_path / "servers"), 4, base, base)
    env = {"FACTORY_BOT_BUILD_RESULT": "failure"}

    result = subprocess.run(
        [
            "factory-bot",
            "on-pr",
            "--stage",
            "publish",
            "--workdir",
            str(work),
            "--forge",
            "local",
            "--repo",
            str(tmp_path / "servers"),
            "--event",
            str(event),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
        env=os.environ | env,
    )

    assert result.returncode == 1, result.stderr
    comment = LocalForge(str(tmp_path / "servers")).find_comment(4, REVIEW_MARKER)
    assert comment is not None and ":x: failed" in comment.body and "check job ended with failure" in comment.body
