"""The caches, which any job that ran untrusted code may have poisoned: only a fresh install saves them, and no
job that publishes or holds a secret restores one. The composite action's steps are evaluated for every call
with GitHub's `if:` rules, as is the publish stage's fresh toolchain.
"""

from __future__ import annotations

import re
from typing import Any

from tests.workflow_yaml import (
    ACTION,
    RUNS_GENERATED_CODE,
    jobs,
    load,
    own_action_steps,
    runs_generated_code,
    secrets_of,
    writes,
)


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
