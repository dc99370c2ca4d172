"""A local runner for our own workflows, as faithful to GitHub as the tests need, so event tests go through
exactly what GitHub would run (tests/README.md lists what it emulates and what it skips).

It reads .github/workflows/*.yml and action.yml, evaluates `if:` and `${{ }}` with GitHub's expression rules
(tests/actions_expressions.py), runs each job in a fresh workspace with its own token holding exactly the
job's `permissions:` (the fake GitHub refuses anything else), and emulates the pinned versions of
actions/checkout, upload-artifact and download-artifact (tests/actions_steps.py). The composite action runs
step by step (tests/actions_composite.py); setup-python/setup-node use this machine's python3 and node, caches
are skipped. The keys, shells and actions it knows, and a job's result, are in tests/actions_model.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .actions_composite import own_action
from .actions_expressions import ExpressionError, condition, evaluate, interpolate  # noqa: F401 (re-exported)
from .actions_model import (
    EMULATED,
    JOB_KEYS,
    SECRET_ENV,
    SHELLS,
    SKIPPED,
    STEP_KEYS,
    WORKFLOW_KEYS,
    JobResult,
    _holds,
    _known,
    _needs,
    _only,
    _truthy_flag,
    load_yaml,
)
from .actions_steps import ActionError, StepResult, action_of, check_inputs, checkout, download, remove_auth, upload
from .fakes.github_permissions import token_permissions

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Runner:
    """Runs one workflow for one event, in temp dirs, against the repository at `repo` (a git URL or path)."""

    workflow: str | Path  # a file name under .github/workflows, or a path (a modified copy)
    event_name: str
    event: dict[str, Any]
    repo: str  # what actions/checkout fetches (the fake's smart-HTTP URL, or a path)
    root: Path  # scratch space
    env: dict[str, str] = field(default_factory=dict)  # GITHUB_API_URL, GITHUB_REPOSITORY, ...
    secrets: dict[str, str] = field(default_factory=dict)
    token: str = "ghs_test_token"  # each job's GITHUB_TOKEN is this plus the job's id
    only: tuple[str, ...] = ()  # run just these jobs (the others count as skipped)
    grant: Callable[[str, dict[str, str]], None] | None = None  # tells the fake GitHub a job token's scopes
    git_dir: Path | None = None  # the repository's storage, as GitHub reads GITHUB_SHA from it
    install: bool = False  # run the composite action's `pip install` into a fresh venv (else: this venv's bot)
    artifacts: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        path = Path(self.workflow)
        self.path = path if path.is_absolute() else ROOT / ".github" / "workflows" / path
        self.sha = self._event_sha()

    def _event_sha(self) -> str:
        """GITHUB_SHA as each event defines it (docs: "Events that trigger workflows")."""
        if self.event_name == "push":
            return self.event.get("after", "")
        if self.event_name in ("pull_request", "pull_request_target"):
            return ""  # the merge commit of refs/pull/N/merge: not modelled, so the workflows name a ref
        # Other events: the last commit on the default branch, which GitHub reads from its own storage.
        branch = (self.event.get("repository") or {}).get("default_branch", "main")
        where = ["--git-dir", str(self.git_dir)] if self.git_dir else []
        command = (
            [*where, "rev-parse", f"refs/heads/{branch}"]
            if self.git_dir
            else ["ls-remote", self.repo, f"refs/heads/{branch}"]
        )
        out = subprocess.run(
            ["git", *command], capture_output=True, text=True, env=os.environ | {"GIT_TERMINAL_PROMPT": "0"}
        )
        return out.stdout.split("\t")[0].strip() if out.returncode == 0 else ""

    def _ref(self) -> str:
        if self.event_name in ("pull_request", "pull_request_target"):
            return f"refs/pull/{self.event.get('number', 0)}/merge"
        if self.event_name == "push":
            return self.event.get("ref", "")
        return f"refs/heads/{(self.event.get('repository') or {}).get('default_branch', 'main')}"

    def github(self, token: str, workspace: Path | None = None) -> dict[str, Any]:
        return {
            "event_name": self.event_name,
            "event": self.event,
            "token": token,
            "sha": self.sha,
            "repository": self.env.get("GITHUB_REPOSITORY", ""),
            "ref": self._ref(),
            "workspace": str(workspace or ""),
            "action_path": "",
            "run_id": "1",
            "run_attempt": "1",
            "server_url": self.env.get("GITHUB_SERVER_URL", ""),
        }

    def run(self) -> dict[str, JobResult]:
        (self.root / "event.json").write_text(json.dumps(self.event))
        self.spec = load_yaml(self.path)
        _known("workflow", self.path.name, self.spec, WORKFLOW_KEYS)
        for job_id, job in self.spec["jobs"].items():
            _known("job", job_id, job, JOB_KEYS)
            for step in job.get("steps", []):
                _known("step of", job_id, step, STEP_KEYS)
        results: dict[str, JobResult] = {}
        pending = dict(self.spec["jobs"])
        while pending:
            ready = [j for j, job in pending.items() if all(n in results for n in _needs(job))]
            if not ready:
                raise ExpressionError(f"jobs {sorted(pending)} need jobs that do not exist or form a cycle")
            for job_id in ready:
                results[job_id] = self.run_job(job_id, pending.pop(job_id), results)
        return results

    def _ancestors(self, job_id: str) -> set[str]:
        out: set[str] = set()
        for need in _needs(self.spec["jobs"][job_id]):
            out |= {need} | self._ancestors(need)
        return out

    def run_job(self, job_id: str, job: dict[str, Any], done: dict[str, JobResult]) -> JobResult:
        needs = {n: {"result": done[n].result, "outputs": done[n].outputs} for n in _needs(job)}
        ancestors = [done[a].result for a in self._ancestors(job_id)]
        # Status functions of a job's `if:`: success() needs every needed job to have succeeded (a skipped
        # one skips its dependants), failure() is true when any ancestor failed (docs: "Status check functions").
        status = {
            "success": all(n["result"] == "success" for n in needs.values()) and "failure" not in ancestors,
            "failure": "failure" in ancestors,
            "cancelled": False,
        }
        permissions = token_permissions(job["permissions"] if "permissions" in job else self.spec.get("permissions"))
        token = f"{self.token}_{self.path.stem}_{job_id}"
        context = {
            "github": self.github(token),
            "needs": needs,
            "vars": {},
            "inputs": {},
            "secrets": {"GITHUB_TOKEN": token} | self.secrets,
            "env": {},
            "steps": {},
            "runner": {"os": "Linux", "arch": "X64", "temp": str(self.root / job_id / "temp")},
            "job": {"status": "success"},
            "strategy": {},
            "matrix": {},
        }
        if (self.only and job_id not in self.only) or not condition(
            job.get("if"), _only(context, "github", "needs", "vars", "inputs"), status
        ):
            return JobResult(job_id, "skipped")
        if self.grant:
            self.grant(token, permissions)
        workspace = self.root / job_id / "workspace"
        workspace.mkdir(parents=True)
        (self.root / job_id / "temp").mkdir()
        context["github"] = self.github(token, workspace)
        files = {name: self.root / job_id / f"{name}.txt" for name in ("summary", "path", "env")}
        for file in files.values():
            file.touch()
        env_context = _only(context, "github", "needs", "strategy", "matrix", "vars", "secrets", "inputs")
        job_env = {k: interpolate(v, env_context) for k, v in (job.get("env") or {}).items()}
        context["env"] = dict(job_env)
        result = JobResult(job_id, "success", workspace=workspace, token=token, permissions=permissions)
        checkouts: list[Path] = []
        for index, step in enumerate(job.get("steps", [])):
            name = step.get("name") or step.get("uses") or f"step {index}"
            step_status = {
                "success": result.result == "success",
                "failure": result.result == "failure",
                "cancelled": False,
            }
            context["job"]["status"] = result.result
            if not condition(
                step.get("if"),
                _only(
                    context, "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"
                ),
                step_status,
            ):
                result.steps.append(StepResult(name, "skipped"))
                if step.get("id"):
                    context["steps"][step["id"]] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                continue
            outcome = self.run_step(step, context, workspace, files, job_env, checkouts)
            outcome.name = name
            result.steps.append(outcome)
            # continue-on-error: the step's outcome stays failure, its conclusion (and the job) success.
            tolerated = outcome.outcome == "failure" and _truthy_flag(step.get("continue-on-error"), context)
            if step.get("id"):
                context["steps"][step["id"]] = {
                    "outputs": outcome.outputs,
                    "outcome": outcome.outcome,
                    "conclusion": "success" if tolerated else outcome.outcome,
                }
            if outcome.outcome == "failure" and not tolerated:
                result.result = "failure"
        result.persisted_token = any(_holds(c, token) for c in checkouts)
        for dest in checkouts:  # the post step of actions/checkout
            remove_auth(dest, self.repo)
        result.summary = files["summary"].read_text()
        result.outputs = {k: interpolate(v, context) for k, v in (job.get("outputs") or {}).items()}
        return result

    # -- steps -------------------------------------------------------------------------------------
    def base_env(self, workspace: Path, files: dict[str, Path], output: Path) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k not in ("ANTHROPIC_API_KEY",)}
        extra_path = [p for p in files["path"].read_text().splitlines() if p.strip()]
        path = os.pathsep.join([*reversed(extra_path), keep.get("PATH", "")])
        added = dict(line.split("=", 1) for line in files["env"].read_text().splitlines() if "=" in line)
        return (
            keep
            | self.env
            | added
            | {
                "PATH": path,
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_EVENT_PATH": str(self.root / "event.json"),
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_SHA": self.sha,
                "GITHUB_REF": self._ref(),
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_PATH": str(files["path"]),
                "GITHUB_ENV": str(files["env"]),
                "RUNNER_TEMP": str(workspace.parent / "temp"),
            }
        )

    def run_step(
        self,
        step: dict[str, Any],
        context: dict[str, Any],
        workspace: Path,
        files: dict[str, Path],
        job_env: dict[str, str],
        checkouts: list[Path],
    ) -> StepResult:
        uses = str(step.get("uses", ""))
        inputs = {k: interpolate(v, context) for k, v in (step.get("with") or {}).items()}
        env = job_env | {k: interpolate(v, context) for k, v in (step.get("env") or {}).items()}
        action = action_of(uses) if uses else None
        if action:
            check_inputs(action, inputs)
        if action == "actions/checkout":
            result = checkout(inputs, workspace=workspace, url=self.repo, github=context["github"])
            if result.outcome == "success" and not inputs.get("path"):
                self._bot_source(workspace)
            checkouts.append(workspace / inputs.get("path", ""))
            return result
        if action == "actions/upload-artifact":
            return upload(inputs, workspace=workspace, store=self.root / "artifacts", artifacts=self.artifacts)
        if action == "actions/download-artifact":
            return download(inputs, workspace=workspace, artifacts=self.artifacts)
        if skip := next((why for prefix, why in SKIPPED.items() if uses.startswith(prefix)), None):
            return StepResult(uses, "success", f"(skipped by the local runner: {skip})")
        if tool := next((t for prefix, t in EMULATED.items() if uses.startswith(prefix)), None):
            return self.setup(tool, files)
        if uses == "./":
            return own_action(self, inputs, context, workspace, files, env)
        if "run" in step and not uses:
            script = interpolate(step["run"], context)
            return self.shell(script, env, workspace, files, step.get("shell"))
        raise ActionError(f"the local runner does not know {uses!r}")

    def _bot_source(self, workspace: Path) -> None:
        """Our workflows check out the repository that holds the action (`uses: ./`); a test repository does
        not, so the action's own tracked files are laid beside the checkout's (never over them)."""
        tracked = subprocess.run(
            ["git", "ls-files", "action.yml", "pyproject.toml", "factory_bot", "templates"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        for name in tracked:
            if (ROOT / name).is_file() and not (workspace / name).exists():
                (workspace / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, workspace / name)

    def setup(self, tool: str, files: dict[str, Path]) -> StepResult:
        """setup-python / setup-node, emulated: a fresh venv of this machine's python3 (when the action installs
        itself) or the machine's node, put on PATH through GITHUB_PATH as the real actions do."""
        if tool == "python" and self.install:
            home = self.root / "tool-cache" / "python"
            if not home.exists():
                venv.EnvBuilder(with_pip=True).create(home)
            with files["path"].open("a") as out:
                out.write(f"{home / 'bin'}\n")
            return StepResult("setup-python", "success", f"python at {home}")
        found = shutil.which("python3" if tool == "python" else "node")
        return StepResult(f"setup-{tool}", "success" if found else "failure", f"{tool}: {found}")

    def shell(
        self,
        script: str,
        env: dict[str, str],
        workspace: Path,
        files: dict[str, Path],
        shell: str | None = None,
        action_path: Path | None = None,
    ) -> StepResult:
        output = workspace.parent / "output.txt"
        output.write_text("")
        full_env = self.base_env(workspace, files, output) | env
        if action_path:
            full_env["GITHUB_ACTION_PATH"] = str(action_path)
        if shell not in SHELLS:
            raise ActionError(f"the local runner does not emulate shell: {shell}")
        proc = subprocess.run(
            [*SHELLS[shell], "-c", script], cwd=workspace, env=full_env, capture_output=True, text=True, timeout=1800
        )
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return StepResult(
            "run",
            "success" if proc.returncode == 0 else "failure",
            f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}",
            outputs,
            {name for name in SECRET_ENV if full_env.get(name)},
        )
