"""The user's story through GitHub: an issue becomes one PR; after merge, one release; re-runs change nothing.

Real PyGithub talks to a local server that answers like GitHub's REST API; git pushes go to a real bare
repository; the server is built by the real pipeline (node, tsc, the MCP client), once per spec per run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.build.pipeline import build
from factory_bot.errors import ForgeError
from tests.fakes.git_repos import branch_files, merge_branch
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

pytestmark = pytest.mark.e2e
SPECS = Path(__file__).resolve().parent.parent / "specs"
TOKEN = "ghs_story0token0that0must0never0leak"


def request_body(spec_text: str) -> str:
    return f"Please build this server.\n\n```yaml\n{spec_text}```\n"


@pytest.fixture(autouse=True)
def _one_real_build_per_spec(shared_builder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stories are about publishing: their flows' builder hands out the run's one real build of each spec
    (conftest's `shared_builder`) instead of building it again on every run of a flow."""
    monkeypatch.setattr(f"{__name__}.build", shared_builder)


def context(github: FakeGitHub, workdir: Path) -> flows.Context:
    workdir.mkdir(parents=True, exist_ok=True)
    return flows.Context(workdir=workdir, forge=lambda: forge_for(github, TOKEN), builder=build)


def status_comments(github: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in github.comments_on(number) if "mcp-factory:status" in c["body"]]


def test_issue_request_opens_one_pr_and_editing_the_issue_updates_it(github: FakeGitHub, tmp_path: Path):
    calculator = (SPECS / "calculator.yaml").read_text()
    issue = github.open_issue("Calculator server", request_body(calculator))

    outcome = flows.on_issue(github.issue_event(issue["number"]), context(github, tmp_path / "run1"))

    assert list(github.pulls) == [outcome["pull"]]
    pr = github.pulls[outcome["pull"]]
    assert (pr["head"], pr["base"]) == ("factory/calculator", "main")
    assert f"Closes #{issue['number']}" in pr["body"]
    assert "| `divide` |" in pr["body"] and "### Validation" in pr["body"]
    files = branch_files(github.bare, "factory/calculator")
    assert "specs/calculator.yaml" in files
    assert {
        "servers/calculator/src/index.ts",
        "servers/calculator/package.json",
        "servers/calculator/package-lock.json",
        "servers/calculator/README.md",
    } <= set(files)
    assert not any("node_modules" in f or f.endswith(".tgz") or "/dist/" in f for f in files)
    [status] = status_comments(github, issue["number"])
    assert f"/pull/{outcome['pull']}" in status
    assert github.issues[issue["number"]]["labels"] == ["mcp-factory: pr-open"]

    # The requester edits the issue: same branch, same PR, same status comment.
    github.issues[issue["number"]]["body"] = request_body(
        calculator.replace("description: Arithmetic on two numbers.", "description: Arithmetic, precisely.")
    )
    again = flows.on_issue(github.issue_event(issue["number"], "edited"), context(github, tmp_path / "run2"))

    assert again["pull"] == outcome["pull"] and len(github.pulls) == 1
    assert "Arithmetic, precisely." in github.pulls[outcome["pull"]]["body"]
    assert "Arithmetic, precisely." in branch_files(github.bare, "factory/calculator")["specs/calculator.yaml"]
    assert len(status_comments(github, issue["number"])) == 1
    assert TOKEN in github.tokens_seen


def test_merged_request_is_released_once_and_a_broken_upload_is_completed_next_run(github: FakeGitHub, tmp_path: Path):
    issue = github.open_issue("Calculator", request_body((SPECS / "calculator.yaml").read_text()))
    opened = flows.on_issue(github.issue_event(issue["number"]), context(github, tmp_path / "issue"))
    main_sha = merge_branch(github.bare, "factory/calculator", message=f"Merge pull request #{opened['pull']}")

    # The package upload fails with 502 more often than the client retries: the run stops half-way.
    github.fail("POST", r"/releases/\d+/assets$", status=502, times=20)
    with pytest.raises(ForgeError):
        flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push1"))
    [half] = github.releases.values()
    assert half["tag"] == "calculator-v1.0.0" and not github.assets

    github.faults.clear()
    released = flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push2"))
    assert released["released"] == ["calculator-v1.0.0"]
    release = github.release_by_tag("calculator-v1.0.0")
    assert release is not None and len(github.releases) == 1
    assets = {a["name"]: a for a in release["assets"]}
    assert set(assets) == {"calculator-1.0.0.tgz", "calculator-1.0.0.tgz.sha256"}
    package = github.blobs[assets["calculator-1.0.0.tgz"]["id"]]
    digest = hashlib.sha256(package).hexdigest()
    assert github.blobs[assets["calculator-1.0.0.tgz.sha256"]["id"]].decode().split()[0] == digest
    assert digest in release["body"] and "claude mcp add calculator" in release["body"]
    assert f"SHA-256 `{digest}`" in github.pulls[opened["pull"]]["body"]  # what the PR promised is what ships
    assert "calculator-v1.0.0" in {t.name for t in git.Repo(github.bare).tags}
    index = json.loads(branch_files(github.bare, "main")["registry.json"])
    assert index["servers"][0]["versions"][0]["sha256"] == digest
    assert github.issues[issue["number"]]["labels"] == ["mcp-factory: released"]

    # Running again creates nothing and pushes nothing.
    writes_before = [e for e in github.exchanges if e.method != "GET"]
    main_before = git.Repo(github.bare).commit("main").hexsha
    again = flows.on_push(github.push_event(main_sha), context(github, tmp_path / "push3"))
    assert again["released"] == [] and again["index_commit"] is None
    assert [e for e in github.exchanges if e.method != "GET"] == writes_before
    assert git.Repo(github.bare).commit("main").hexsha == main_before
    for leftover in (tmp_path / "push3").rglob("config"):
        assert TOKEN not in leftover.read_text(errors="replace")
