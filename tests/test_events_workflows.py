"""A request's whole life, driven through our real workflow files with GitHub's own example payloads.

Each workflow runs job by job in temp dirs (tests/actions_runner.py): its `if:` conditions, the composite
action's real run script, `factory-bot` with the stage the job names, artifacts handed over as
upload/download-artifact do. GitHub is the local fake REST server over a real bare git repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .actions_model import JobResult
from .actions_runner import ROOT, Runner
from .fakes.github_api import FakeGitHub
from .least_privilege import Ledger, without
from .test_events import REQUEST_LABEL, example

TOKEN = "ghs_fake_write_token_0123456789"
MODEL_KEY = "sk-ant-fake-model-key-0123456789"
FORM = """### Server name

{name}

### What should the server do?

Convert between units.

### Tools

_No response_

### Spec YAML

```yaml
{spec}
```

### Environment and APIs

_No response_

### Generated code

- [X] I understand that the server's code will be generated (possibly written by Claude) and must be reviewed
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


# The repository has a README and an empty specs/ on main, and is private, so every read needs its scope too:
# the strictest case for the jobs' permissions.
pytestmark = pytest.mark.github(files={"specs/.gitkeep": ""}, git_http=True, private=True)


def run(
    fake: FakeGitHub, tmp_path: Path, workflow: str, event_name: str, payload: dict[str, Any], **options: Any
) -> dict[str, JobResult]:
    root = tmp_path / f"run-{Path(workflow).name}-{len(list(tmp_path.glob('run-*')))}"
    root.mkdir()
    runner = Runner(
        workflow,
        event_name,
        payload,
        repo=fake.clone_url,
        root=root,
        token=TOKEN,
        env={"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": fake.slug, "GITHUB_SERVER_URL": fake.url}
        | options.pop("env", {}),
        secrets={"ANTHROPIC_API_KEY": MODEL_KEY},
        grant=fake.grant,
        git_dir=fake.bare,
        **options,
    )
    return runner.run()


def request_issue(fake: FakeGitHub, spec_text: str, name: str) -> dict[str, Any]:
    """An `issues.opened` event (GitHub's example) for an issue filed through our form."""
    issue = fake.open_issue(f"New MCP server: {name}", FORM.format(name=name, spec=spec_text.strip()))
    fake.issues[issue["number"]]["labels"] = [REQUEST_LABEL]
    payload = example("issues", "opened")
    payload.update(issue=fake.issue_json(issue["number"]), repository=fake.repo_json())
    return payload


def logs(jobs: dict[str, JobResult]) -> str:
    return "\n".join(f"===== {name}: {job.result}\n{job.log()}" for name, job in jobs.items())


def assert_ok(jobs: dict[str, JobResult], *names: str) -> None:
    for name in names:
        assert jobs[name].result == "success", f"job {name} failed:\n{jobs[name].log()}"


def status_comment(fake: FakeGitHub, number: int) -> str:
    [comment] = [c["body"] for c in fake.comments_on(number) if "mcp-factory:status" in c["body"]]
    return comment


def test_a_request_whose_spec_is_broken_gets_the_reason_on_the_issue_and_no_pull_request(github, tmp_path):
    spec = (ROOT / "specs" / "unit-converter.yaml").read_text().replace("version: 1.0.0", "version: one")
    payload = request_issue(github, spec, "unit-converter")

    jobs = run(github, tmp_path, "requests.yml", "issues", payload)

    assert jobs["parse"].result == "failure" and jobs["build"].result == "skipped", logs(jobs)
    assert jobs["publish"].result != "skipped"  # it still runs, to explain the failure on the issue
    comment = status_comment(github, payload["issue"]["number"])
    assert "could not parse" in comment and "version" in comment
    assert github.pulls == {}
    assert github.issues[payload["issue"]["number"]]["labels"] == [REQUEST_LABEL, "mcp-factory: failed"]
    assert "::error" in jobs["parse"].log() and "semantic versioning" in jobs["parse"].summary
    # Nothing to rebuild after a failed parse: the publish job explains it without installing the toolchain.
    assert "--- Install the Node toolchain fresh" not in jobs["publish"].log()


@pytest.mark.e2e
def test_first_request_end_to_end_issue_to_pull_request_to_review_to_release(github, tmp_path):
    spec = (ROOT / "specs" / "unit-converter.yaml").read_text()
    payload = request_issue(github, spec, "unit-converter")
    number = payload["issue"]["number"]
    ledger = Ledger()

    # 1. The issue is opened: parse, build, publish.
    jobs = run(github, tmp_path, "requests.yml", "issues", payload)
    ledger.add("requests.yml", github, jobs)
    assert_ok(jobs, "parse", "build", "publish")
    assert not any(job.persisted_token for job in jobs.values())  # persist-credentials: false everywhere
    [pr] = github.pulls.values()
    assert pr["head"] == "factory/unit-converter" and pr["base"] == "main"
    assert "unit-converter" in status_comment(github, number)
    assert (
        git(github.bare, "ls-tree", "-r", "--name-only", "factory/unit-converter", "--", "specs", "servers").count(
            "unit-converter"
        )
        >= 3
    )
    assert (
        "| examples (`convert_temperature`) | ✅ pass |" in jobs["build"].summary
    )  # the build table is in the job summary
    assert "Pull request #" in jobs["publish"].summary
    assert "--- Install the Node toolchain fresh [success]" in jobs["publish"].log()  # its trusted rebuild

    # Trust split, observed: who could read which secret, and who talked to GitHub.
    assert jobs["parse"].secrets == {"ANTHROPIC_API_KEY"}
    assert jobs["build"].secrets == set()
    assert jobs["publish"].secrets == {"GITHUB_TOKEN"}
    # Each job has its own token; only the gate's and the publish job's reached the API (the others only cloned).
    assert github.tokens_seen == {jobs["gate"].token, jobs["publish"].token}
    tokens = [job.token.encode() for job in jobs.values() if job.token]
    for artifact in (tmp_path).glob("run-*/artifacts/**/*"):
        if artifact.is_file():
            assert (
                not any(t in artifact.read_bytes() for t in tokens) and MODEL_KEY.encode() not in artifact.read_bytes()
            )

    # 2. The requester comments `/factory retry`: the same branch and PR are updated, no second PR.
    retry = example("issue_comment", "created")
    retry.update(issue=fake_issue_with_label(github, number), repository=github.repo_json())
    retry["comment"] = dict(
        retry["comment"], body="/factory retry", author_association="NONE", user=github.issue_json(number)["user"]
    )
    jobs = run(github, tmp_path, "requests.yml", "issue_comment", retry)
    ledger.add("requests.yml", github, jobs)
    assert_ok(jobs, "parse", "build", "publish")
    assert len(github.pulls) == 1

    # 3. The PR is reviewed: drift check and validation, then one review comment.
    head = git(github.bare, "rev-parse", "factory/unit-converter")
    base = git(github.bare, "rev-parse", "main")
    pr_number = next(iter(github.pulls))
    review = example("pull_request", "synchronize")
    review.update(github.pr_event(pr_number, head, base))
    jobs = run(github, tmp_path, "review.yml", "pull_request", review)
    ledger.add("review.yml", github, jobs)
    assert_ok(jobs, "check", "comment")
    assert jobs["check"].secrets == set() and jobs["comment"].secrets == {"GITHUB_TOKEN"}
    [comment] = [c["body"] for c in github.comments_on(pr_number) if "mcp-factory:review" in c["body"]]
    assert "unit-converter" in comment
    # The comment job posts the check job's report and builds nothing: no Node, no toolchain install.
    assert "--- Install the Node toolchain fresh" not in jobs["comment"].log()

    # 4. The PR is merged; the push to main releases unit-converter-v1.0.0 with its package.
    merge(github.bare, "factory/unit-converter", tmp_path / "merge")
    push = example("push")
    push.update(github.push_event(git(github.bare, "rev-parse", "main")))
    jobs = run(github, tmp_path, "release.yml", "push", push)
    ledger.add("release.yml", github, jobs)
    assert_ok(jobs, "build", "publish")
    assert jobs["build"].secrets == set() and jobs["publish"].secrets == {"GITHUB_TOKEN"}
    release = github.release_by_tag("unit-converter-v1.0.0")
    assert release and {a["name"] for a in release["assets"]} >= {"unit-converter-1.0.0.tgz"}
    assert "released" in status_comment(github, number)
    assert "unit-converter-v1.0.0" in jobs["publish"].summary

    # No hidden file crossed an artifact (upload-artifact v4.6.2 leaves them behind), yet every job passed:
    # nothing a job needs depends on one (a kinder runner that copied them would fail this line).
    assert not [p.name for p in tmp_path.glob("run-*/artifacts/**/.*")]

    # 5. Every job's token was just enough: each declared scope was used, at its level, by some call.
    for workflow in ("requests.yml", "review.yml", "release.yml"):
        ledger.check(workflow)


def fake_issue_with_label(fake: FakeGitHub, number: int) -> dict[str, Any]:
    if REQUEST_LABEL not in fake.issues[number]["labels"]:
        fake.issues[number]["labels"].insert(0, REQUEST_LABEL)
    return fake.issue_json(number)


def merge(bare: Path, branch: str, where: Path) -> None:
    git(bare.parent, "clone", "--quiet", str(bare), str(where))
    git(
        where,
        "-c",
        "user.name=Alice",
        "-c",
        "user.email=alice@example.com",
        "merge",
        "--no-ff",
        "--quiet",
        f"origin/{branch}",
        "-m",
        f"Merge {branch}",
    )
    git(where, "push", "--quiet", "origin", "main")


@pytest.mark.e2e
def test_the_nightly_health_build_of_the_calculator_passes_and_reports_its_table(github, tmp_path):
    seed = tmp_path / "health-seed"
    git(tmp_path, "clone", "--quiet", str(github.bare), str(seed))
    (seed / "specs" / "calculator.yaml").write_text((ROOT / "specs" / "calculator.yaml").read_text())
    git(seed, "add", ".")
    git(seed, "-c", "user.name=Alice", "-c", "user.email=alice@example.com", "commit", "--quiet", "-m", "calc")
    git(seed, "push", "--quiet", "origin", "main")
    schedule = {"schedule": "23 4 * * *", "repository": github.repo_json()}

    jobs = run(github, tmp_path, "maintenance.yml", "schedule", schedule, only=("health",))

    assert_ok(jobs, "health")
    assert jobs["health"].secrets == set()
    assert "### ✅ `calculator` 1.0.0: built and valid" in jobs["health"].summary
    ledger = Ledger()
    ledger.add("maintenance.yml", github, jobs)
    ledger.check("maintenance.yml", ("health",))


def test_the_nightly_cleanup_closes_the_pull_request_of_a_closed_request_and_deletes_its_branch(github, tmp_path):
    issue = github.open_issue("New MCP server: calc", "a request")["number"]
    github.close_issue(issue)
    work = tmp_path / "bot-branch"
    git(tmp_path, "clone", "--quiet", str(github.bare), str(work))
    (work / "specs" / "calc.yaml").write_text("name: calc\n")
    git(work, "add", ".")
    git(
        work,
        "-c",
        "user.name=mcp-factory[bot]",
        "-c",
        "user.email=mcp-factory-bot@users.noreply.github.com",
        "commit",
        "--quiet",
        "-m",
        "Add calc",
    )
    git(work, "push", "--quiet", "origin", "HEAD:refs/heads/factory/calc")
    github._numbers += 1
    pull = github._numbers
    github.pulls[pull] = {
        "id": github._id(),
        "head": "factory/calc",
        "base": "main",
        "title": "MCP server calc",
        "body": f"Closes #{issue}\n\n<!-- mcp-factory:pr calc -->",
        "state": "open",
    }
    schedule = {"schedule": "23 4 * * *", "repository": github.repo_json()}

    jobs = run(github, tmp_path, "maintenance.yml", "schedule", schedule, only=("cleanup",))

    assert_ok(jobs, "cleanup")
    assert github.pulls[pull]["state"] == "closed", logs(jobs)
    assert not git(github.bare, "branch", "--list", "factory/calc"), logs(jobs)
    ledger = Ledger()
    ledger.add("maintenance.yml", github, jobs)
    ledger.check("maintenance.yml", ("cleanup",))
    # A scope no call used is caught as well: the same story against a job that also holds actions: read.
    (tmp_path / "wider").mkdir()
    wider = without("maintenance.yml", "cleanup", "actions", tmp_path / "wider", add="read")
    with pytest.raises(AssertionError, match="cleanup: declares actions: read, the stories used none"):
        ledger.check("maintenance.yml", ("cleanup",), file=wider)


@pytest.mark.parametrize(
    "job, scope", [("gate", "issues"), ("gate", "contents"), ("parse", "contents"), ("publish", "issues")]
)
def test_a_job_that_loses_a_scope_it_uses_fails_with_githubs_403(github, tmp_path, job, scope):
    spec = (ROOT / "specs" / "unit-converter.yaml").read_text().replace("version: 1.0.0", "version: one")
    payload = request_issue(github, spec, "unit-converter")
    (tmp_path / "edited").mkdir()

    jobs = run(github, tmp_path, str(without("requests.yml", job, scope, tmp_path / "edited")), "issues", payload)

    assert jobs[job].result == "failure", logs(jobs)
    refused = [need for token, _, _, need in github.refused if token == jobs[job].token]
    assert refused and refused[0].scope in (scope, refused[0].alt) and scope in (refused[0].scope, refused[0].alt)
    assert "403" in jobs[job].log()


def test_a_plain_language_request_is_parsed_by_claude_in_the_only_job_holding_the_key(github, tmp_path):
    from factory_bot.spec.loader import load_spec_file

    from .fakes.messages_api import FakeMessagesAPI, tool_use

    examples = ROOT / "templates" / "prompts" / "examples"
    spec = load_spec_file(examples / "2-date-tools.yaml").model_dump(mode="json", exclude_defaults=True)
    body = FORM.format(name="date-tools", spec="").replace("```yaml\n\n```", "_No response_")
    body = body.replace("Convert between units.", "How many days are between two dates?")
    issue = github.open_issue("New MCP server: date-tools", body)
    github.issues[issue["number"]]["labels"] = [REQUEST_LABEL]
    payload = example("issues", "opened")
    payload.update(issue=github.issue_json(issue["number"]), repository=github.repo_json())

    with FakeMessagesAPI([tool_use("submit_spec", spec)]) as claude:
        jobs = run(
            github,
            tmp_path,
            "requests.yml",
            "issues",
            payload,
            env={"ANTHROPIC_BASE_URL": claude.url},
            only=("gate", "parse"),
        )
        root = next(tmp_path.glob("run-*"))

    assert_ok(jobs, "parse")
    [request] = claude.requests
    assert MODEL_KEY in (request.headers.get("x-api-key", ""), request.headers.get("authorization", "")[7:])
    assert "How many days are between two dates?" in request.user_text()
    assert jobs["parse"].outputs == {"server": "date-tools"}  # names the publish job's concurrency group
    handed_on = root / "artifacts" / "request"
    assert "name: date-tools" in (handed_on / "spec.yaml").read_text()
    assert MODEL_KEY not in "".join(p.read_text() for p in handed_on.rglob("*") if p.is_file())
