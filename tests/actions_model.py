"""What the local runner (tests/actions_runner.py) knows of a workflow: the keys, shells and actions it honours,
skips or emulates; a job's result (`JobResult`, which the tests read); and the small readers of a job's YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .actions_expressions import interpolate
from .actions_steps import ActionError, StepResult

SKIPPED = {  # `uses:` prefix → why the runner does not run it (tests/README.md)
    "actions/cache@": "caches are an optimisation; a cold run must pass, and poisoning is the integrity tests' job",
    "actions/cache/restore@": "caches are an optimisation; a cold run must pass",
    "actions/create-github-app-token@": "no GitHub App here: the job falls back to its GITHUB_TOKEN",
}
EMULATED = {"actions/setup-python@": "python", "actions/setup-node@": "node"}  # this machine's python3 / node
SECRET_ENV = ("GITHUB_TOKEN", "ANTHROPIC_API_KEY", "GH_TOKEN")
SHELLS = {  # https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell
    None: ["bash", "-e"],  # no `shell:` on Linux: bash -e {0}
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
}


# The keys this runner honours; any other key of a workflow, job or step raises (it would be silently ignored).
WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "jobs", "run-name"}  # YAML 1.1 reads `on` as True
JOB_KEYS = {
    "name",
    "runs-on",
    "timeout-minutes",
    "permissions",
    "needs",
    "if",
    "outputs",
    "steps",
    "env",
    "concurrency",
}
STEP_KEYS = {"name", "id", "uses", "with", "run", "shell", "env", "if", "continue-on-error", "timeout-minutes"}


def _known(kind: str, where: str, keys: Any, allowed: set[Any]) -> None:
    unknown = set(keys) - allowed
    if unknown:
        raise ActionError(f"{kind} {where}: the local runner does not emulate {sorted(map(str, unknown))}")


def load_yaml(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())


@dataclass
class JobResult:
    id: str
    result: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    workspace: Path | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    token: str = ""
    permissions: dict[str, str] = field(default_factory=dict)
    persisted_token: bool = False  # whether the job's token sat in a checkout's .git/config during the job

    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.output}" for s in self.steps)

    @property
    def secrets(self) -> set[str]:
        """Every secret variable any step of this job could read."""
        return set().union(*(s.secrets for s in self.steps))


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _only(context: dict[str, Any], *names: str) -> dict[str, Any]:
    """The contexts GitHub makes available at one place of a workflow (docs: "Context availability")."""
    return {name: context[name] for name in names}


def _truthy_flag(value: Any, context: dict[str, Any]) -> bool:
    if isinstance(value, str):
        value = interpolate(value, context)
        return value.strip().lower() == "true"
    return bool(value)


def _holds(checkout_dir: Path, token: str) -> bool:
    import base64

    config = checkout_dir / ".git" / "config"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return config.is_file() and (token in config.read_text() or basic in config.read_text())
