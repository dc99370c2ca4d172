"""Our workflows and composite action read as YAML, and what the workflow tests ask of a job: its steps that call
the action, whether it runs generated code, the secrets it can read and the scopes it may write."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"

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
