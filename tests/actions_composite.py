"""The composite action (`uses: ./`, our action.yml) as the local runner runs it: step by step, with its own
`inputs` and `steps` contexts, and its `outputs` mapped from its steps' as GitHub does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .actions_expressions import condition, interpolate
from .actions_model import STEP_KEYS, _known, load_yaml
from .actions_steps import ActionError, StepResult

if TYPE_CHECKING:
    from .actions_runner import Runner


def own_action(
    runner: Runner,
    inputs: dict[str, str],
    context: dict[str, Any],
    workspace: Path,
    files: dict[str, Path],
    env: dict[str, str],
) -> StepResult:
    """The composite action, step by step, with its own `inputs` and `steps` contexts."""
    action = load_yaml(workspace / "action.yml")
    unknown = set(inputs) - set(action["inputs"])
    if unknown:
        raise ActionError(f"inputs the action does not declare: {unknown}")
    values = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in action["inputs"].items()}
    inner = {**context, "inputs": values, "steps": {}}
    inner["github"] = dict(context["github"], action_path=str(workspace))
    combined = StepResult("./", "success")
    for step in action["runs"]["steps"]:
        _known("step of", "action.yml", step, STEP_KEYS)
        status = {
            "success": combined.outcome == "success",
            "failure": combined.outcome == "failure",
            "cancelled": False,
        }
        if not condition(step.get("if"), inner, status):
            continue
        uses = str(step.get("uses", ""))
        if "run" in step and "pip install" in step["run"] and not runner.install:
            result = StepResult(step.get("name", "pip install"), "success", "(this venv has the bot already)")
        elif uses:
            result = runner.run_step(step, inner, workspace, files, env, [])
        else:
            step_env = env | {k: interpolate(v, inner) for k, v in (step.get("env") or {}).items()}
            result = runner.shell(step["run"], step_env, workspace, files, step.get("shell"), workspace)
        combined.output += f"\n--- {step.get('name', uses)} [{result.outcome}]\n{result.output}"
        combined.secrets |= result.secrets
        if step.get("id"):
            inner["steps"][step["id"]] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.outcome,
            }
        if result.outcome == "failure":
            combined.outcome = "failure"
    # The action's outputs map its steps' outputs, as GitHub does for a composite action.
    combined.outputs = {name: interpolate(spec["value"], inner) for name, spec in action["outputs"].items()}
    return combined
