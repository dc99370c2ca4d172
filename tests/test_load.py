"""Load: a burst of 50 request events against the local GitHub ends with exactly the PRs and comments the policy
allows: no duplicates, no lost comments.

Collaborators within and over their rate limit, strangers, outsiders approved (or not) by a label, a
maintainer's `/factory build` on a stranger's request, an oversized request, duplicate deliveries and edits.
Each event goes through the real flow (gate, parser, plan, git push, PyGithub against the fake) with a builder
(and a publish-side trusted rebuild) that hands out a prebuilt successful result: this test is about policy and
publishing, not about building.
Users run in parallel (4 workers); one user's events run in order, as the workflow's per-issue queue does.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.build import trusted
from factory_bot.build.package import Package, sha256_of
from factory_bot.build.pipeline import BuildResult
from factory_bot.build.render import render_server
from factory_bot.build.report import Check, ValidationReport
from factory_bot.gitops.gate import ACCEPTED_LABEL, POLICY_MARKER
from factory_bot.gitops.handover import ALWAYS_RUN
from factory_bot.gitops.publish import STATUS_MARKER, tgz_name
from tests.fakes.git_repos import seed_bare_repo
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

pytestmark = pytest.mark.e2e  # about a minute of git and HTTP on two cores
SPEC = (Path(__file__).resolve().parents[1] / "specs" / "calculator.yaml").read_text()
WORKERS = 4


def prebuilt(spec: Any, out_dir: Path, *, progress: Any = None) -> BuildResult:
    """A successful build result without building: the generated source (publish re-renders and compares it)
    and a stand-in package."""
    server = out_dir / spec.name
    for rel, text in render_server(spec).items():
        (server / rel).parent.mkdir(parents=True, exist_ok=True)
        (server / rel).write_text(text, encoding="utf-8")
    tgz = out_dir / tgz_name(spec)
    tgz.write_bytes(f"prebuilt {spec.name} {spec.version}".encode())
    report = ValidationReport(
        [Check(name, True, 0.0, "handed out by the load test") for name in ALWAYS_RUN]
        + [Check("examples", True, 0.0, "handed out", tool=t.name) for t in spec.tools]
    )
    return BuildResult(spec, server, report, Package(tgz, sha256_of(tgz), tgz.stat().st_size, [], {}))


def prebuilt_rebuild(spec: Any, out_dir: Path, **_: Any) -> trusted.Made:
    """The publish stage's trusted rebuild, handed out the same way (the same stand-in package)."""
    result = prebuilt(spec, out_dir)
    return trusted.Made(spec, result.server_dir, Check("bundle", True, 0.0, "prebuilt"), result.package, None, 0.0)


def body(name: str) -> str:
    return f"Please build this.\n\n```yaml\n{SPEC.replace('name: calculator', f'name: {name}', 1)}```\n"


def test_a_burst_of_50_requests_ends_with_exactly_what_the_policy_allows(
    tmp_path: Path, record_property: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(trusted, "make_package", prebuilt_rebuild)
    with FakeGitHub(seed_bare_repo(tmp_path / "origin.git")) as github:
        github.collaborators.update(
            {f"dev{i}": "write" for i in range(1, 8)}
            | {"bob": "write", "carol": "write", "dave": "write", "maint": "write", "reader": "read"}
        )
        checkout = tmp_path / "main"
        git.Repo.clone_from(str(github.bare), checkout)  # the default branch, as the gate job's checkout

        def issue(login: str, name: str, text: str | None = None) -> int:
            number = github.open_issue(f"Server {name}", text or body(name), login=login)["number"]
            github.issues[number]["labels"] = ["mcp-server"]
            return number

        def event(
            number: int, action: str = "opened", sender: str | None = None, comment: str | None = None
        ) -> Callable[[], dict[str, Any]]:
            def make() -> dict[str, Any]:  # built when it runs: the issue's labels as they are then
                data = github.issue_json(number)
                who = github.user(sender or data["user"]["login"])
                payload = {"action": action, "issue": data, "repository": github.repo_json(), "sender": who}
                if comment:
                    payload["comment"] = {"body": comment, "user": who}
                return payload

            return make

        def approve(number: int, by: str) -> Callable[[], dict[str, Any]]:
            def make() -> dict[str, Any]:
                github.relabel(number, [*github.issues[number]["labels"], "mcp-server: approved"], actor=by)
                return event(number, "labeled", sender=by)()

            return make

        a = [issue("alice", f"alice-{i}") for i in range(1, 7)]
        b = [issue("bob", f"bob-{i}") for i in range(1, 4)]
        s = [issue(f"stranger{i}", f"stranger-{i}") for i in range(1, 5)]
        o1, o2 = issue("outsider1", "outsider-1"), issue("outsider2", "outsider-2")
        huge = issue("dave", "dave-huge", "Please build a server that " + "does many things, " * 1500)
        scripts: dict[str, list[Callable[[], dict[str, Any]]]] = {
            # 5 accepted, then an edit over the limit, a sixth request over it, and its duplicate delivery
            "alice": [event(n) for n in a[:5]] + [event(a[0], "edited"), event(a[5]), event(a[5])],
            # 5 accepted: an edit that changes nothing and a duplicate delivery each count, but open no new PR
            "bob": [event(b[0]), event(b[0], "edited"), event(b[1]), event(b[1]), event(b[2])],
            "carol": [event(issue("carol", "carol-1"))],
            # strangers: edits and duplicates still leave one comment each; a maintainer starts stranger 3's
            "strangers": [
                event(s[0]),
                event(s[0], "edited"),
                event(s[0], "edited"),
                event(s[1]),
                event(s[1]),
                event(s[1]),
                event(s[2]),
                event(s[3]),
                event(s[2], sender="maint", comment="/factory build"),
            ],
            # an outsider approved by a maintainer (then edits), one "approved" by someone without write access
            "outsiders": [event(o1), approve(o1, "maint"), event(o1, "edited"), event(o2), approve(o2, "reader")],
            "dave": [event(huge)],
        }
        for i in range(1, 8):
            scripts[f"dev{i}"] = [event(issue(f"dev{i}", f"dev{i}-{j}")) for j in range(1, 4)]
        assert sum(len(steps) for steps in scripts.values()) == 50

        outcomes: list[dict[str, Any]] = []
        counter = iter(range(10_000))

        def run_user(steps: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
            results = []
            for make in steps:
                work = tmp_path / f"run-{next(counter)}"
                work.mkdir()
                ctx = flows.Context(workdir=work, forge=lambda: forge_for(github), checkout=checkout, builder=prebuilt)
                results.append(flows.on_issue(make(), ctx))
            return results

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for results in pool.map(run_user, scripts.values()):
                outcomes += results
        wall = time.monotonic() - started

    refused = [o for o in outcomes if o.get("allowed") is False]
    opened = [o for o in outcomes if o.get("pull")]
    comments = list(github.comments.values())
    status = Counter(c["issue"] for c in comments if STATUS_MARKER in c["body"])
    policy = Counter(c["issue"] for c in comments if POLICY_MARKER in c["body"])
    counted = sum(
        1
        for history in github.events.values()
        for e in history
        if e["event"] == "labeled" and e["label"] == ACCEPTED_LABEL
    )
    figures = {
        "requests": len(outcomes),
        "accepted": len(outcomes) - len(refused),
        "refused": len(refused),
        "refusals_by_rule": dict(Counter(o["rule"] for o in refused)),
        "pull_requests": len(github.pulls),
        "comments": len(comments),
        "status_comments": len(status),
        "policy_comments": len(policy),
        "api_calls": len(github.exchanges),
        "workers": WORKERS,
        "wall_seconds": round(wall, 1),
    }
    print("\nload figures: " + json.dumps(figures, sort_keys=True))
    record_property("load_figures", json.dumps(figures, sort_keys=True))

    assert len(outcomes) == 50 and all(o.get("ok", True) for o in outcomes)
    assert figures["refusals_by_rule"] == {"rate-limit": 3, "who": 11, "limits.request_chars": 1}
    assert counted == figures["accepted"] == 35  # every accepted run counted once, no refusal counted
    # Exactly one PR per server whose request got through: alice 5, bob 3, carol 1, dev 21, outsider1, stranger3.
    heads = sorted(p["head"] for p in github.pulls.values())
    expected = sorted(
        [f"factory/alice-{i}" for i in range(1, 6)]
        + [f"factory/bob-{i}" for i in range(1, 4)]
        + ["factory/carol-1", "factory/outsider-1", "factory/stranger-3"]
        + [f"factory/dev{i}-{j}" for i in range(1, 8) for j in range(1, 4)]
    )
    assert heads == expected  # 32: bob-1's edit and bob-2's duplicate delivery updated their PRs, no second one
    assert len(opened) == figures["accepted"]  # every accepted run ended at its PR
    assert all(p["state"] == "open" for p in github.pulls.values())
    # One status comment per accepted request, one policy comment per refused one: nothing twice, nothing lost.
    assert max(status.values()) == 1 and max(policy.values()) == 1
    assert set(status) == {int(p["body"].split("Closes #")[1].split()[0]) for p in github.pulls.values()}
    assert set(policy) == {a[0], a[5], *s, o1, o2, huge}
    assert figures["comments"] == 32 + 9
    for number in (s[2], o1):  # refused first, let through later: the refusal now says so
        [text] = [c["body"] for c in comments if c["issue"] == number and POLICY_MARKER in c["body"]]
        assert "accepted this request" in text
    [limited] = [c["body"] for c in comments if c["issue"] == a[5] and POLICY_MARKER in c["body"]]
    assert "@alice has had 5 requests built in the last 24 hours" in limited
    for number in (*a[:5], *b):
        assert github.issues[number]["labels"][-1] == "mcp-factory: pr-open"
    # And every kind of answer the fake gave under load is one GitHub documents.
    from tests.test_fake_github_openapi import check

    kinds = {(e.method, re.sub(r"/\d+", "/N", e.path), e.status): e for e in github.exchanges}
    for exchange in kinds.values():
        check(exchange)
