"""A small local runner for our own workflows, so event tests go through exactly what GitHub would run.

It reads .github/workflows/*.yml and action.yml, evaluates `if:` and `${{ }}` with GitHub's expression
rules (the subset our files use; anything else raises, so the files stay within it), runs each job in a
fresh workspace, hands artifacts between jobs like actions/upload-artifact and download-artifact, and runs
the composite action's `run` step with bash. Setup steps (setup-python, setup-node, caches, pip install)
are skipped: this machine already has what they install.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_ACTIONS = ("actions/setup-python@", "actions/setup-node@", "actions/cache@", "actions/cache/restore@")


# -- expressions -----------------------------------------------------------------------------------
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\],.*])"
                   r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))")


class ExpressionError(Exception):
    """An expression this runner does not understand (keep the workflows within what it does)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(value)
        out.append((kind, value))
    return out


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "") and value == value


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _Parser:
    def __init__(self, text: str, context: dict[str, Any], functions: dict[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value!r}, got {token}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            same = _loose(value) == _loose(right)
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind in ("str", "num"):
            return value
        if kind == "op" and value == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "name":
            if value in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[value]
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
                if value not in self.functions:
                    raise ExpressionError(f"unknown function {value}()")
                return self.functions[value](*args)
            if value not in self.context:
                raise ExpressionError(f"unknown context {value!r}")
            return self.context[value]
        raise ExpressionError(f"unexpected {value!r}")

    def postfix(self, value: Any) -> Any:
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                kind, name = self.take()
                if name == "*":
                    value = list(value.values()) if isinstance(value, dict) else list(value or [])
                    if self.peek() == ("op", "."):
                        self.take()
                        key = self.take()[1]
                        value = [item.get(key) if isinstance(item, dict) else None for item in value]
                else:
                    value = _get(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = _get(value, key)
        return value


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and isinstance(key, str) and k.lower() == key.lower():
                return v
        return None
    if isinstance(value, list) and isinstance(key, int | float):
        return value[int(key)] if 0 <= key < len(value) else None
    if isinstance(value, list) and isinstance(key, str):
        return [_get(item, key) for item in value]  # object filter: labels.*.name
    return None


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_loose(item) == _loose(needle) for item in haystack)
    return str(_loose(needle)) in str(_loose(haystack if haystack is not None else ""))


def evaluate(text: str, context: dict[str, Any], status: dict[str, bool] | None = None) -> Any:
    """Evaluate one expression (without the ${{ }})."""
    status = status or {"success": True, "failure": False, "cancelled": False}
    functions = {
        "contains": _contains,
        "startsWith": lambda s, p: str(_loose(s or "")).startswith(str(_loose(p))),
        "endsWith": lambda s, p: str(_loose(s or "")).endswith(str(_loose(p))),
        "fromJSON": lambda s: json.loads(s), "toJSON": lambda v: json.dumps(v),
        "success": lambda: status["success"], "failure": lambda: status["failure"],
        "cancelled": lambda: status["cancelled"], "always": lambda: True,
    }
    return _Parser(text, context, functions).parse()


def condition(text: str | bool | None, context: dict[str, Any], status: dict[str, bool]) -> bool:
    """An `if:`: without a status function it means `success() && (...)`, as on GitHub."""
    if text is None:
        return status["success"]
    if isinstance(text, bool):
        return text and status["success"]
    inner = text.strip()
    if inner.startswith("${{") and inner.endswith("}}"):
        inner = inner[3:-2]
    value = _truthy(evaluate(inner, context, status))
    if not re.search(r"\b(success|failure|cancelled|always)\(", inner):
        value = value and status["success"]
    return value


def interpolate(text: Any, context: dict[str, Any]) -> str:
    """A value with ${{ }} parts, as GitHub substitutes it (None and false become '')."""
    def one(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text), flags=re.S)


# -- jobs ------------------------------------------------------------------------------------------
def load_yaml(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())


SECRET_ENV = ("GITHUB_TOKEN", "ANTHROPIC_API_KEY", "GH_TOKEN")


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # secret variables the step's process could read


@dataclass
class JobResult:
    id: str
    result: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    workspace: Path | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.output}" for s in self.steps)

    @property
    def secrets(self) -> set[str]:
        """Every secret variable any step of this job could read."""
        return set().union(*(s.secrets for s in self.steps))


@dataclass
class Runner:
    """Runs one workflow for one event, in temp dirs, against a clone of `repo` (a git URL or path)."""

    workflow: str
    event_name: str
    event: dict[str, Any]
    repo: str  # what actions/checkout clones
    root: Path  # scratch space
    env: dict[str, str] = field(default_factory=dict)  # GITHUB_API_URL, GITHUB_REPOSITORY, ...
    secrets: dict[str, str] = field(default_factory=dict)
    token: str = "ghs_test_token"
    only: tuple[str, ...] = ()  # run just these jobs (the others count as skipped)
    artifacts: dict[str, Path] = field(default_factory=dict)

    def github(self) -> dict[str, Any]:
        return {"event_name": self.event_name, "event": self.event, "token": self.token,
                "repository": self.env.get("GITHUB_REPOSITORY", ""), "ref": self.event.get("ref", ""),
                "sha": "", "workspace": "", "action_path": str(ROOT)}

    def run(self) -> dict[str, JobResult]:
        (self.root / "event.json").write_text(json.dumps(self.event))
        spec = load_yaml(ROOT / ".github" / "workflows" / self.workflow)
        results: dict[str, JobResult] = {}
        pending = dict(spec["jobs"])
        while pending:
            ready = [j for j, job in pending.items() if all(n in results for n in _needs(job))]
            for job_id in ready:
                results[job_id] = self.run_job(job_id, pending.pop(job_id), results)
        return results

    def run_job(self, job_id: str, job: dict[str, Any], done: dict[str, JobResult]) -> JobResult:
        needs = {n: {"result": done[n].result, "outputs": done[n].outputs} for n in _needs(job)}
        status = {"success": all(n["result"] == "success" for n in needs.values()),
                  "failure": any(n["result"] == "failure" for n in needs.values()), "cancelled": False}
        context = {"github": self.github(), "needs": needs, "secrets": self.secrets, "vars": {},
                   "inputs": {}, "env": {}, "steps": {}, "runner": {"os": "Linux", "temp": str(self.root)}}
        if (self.only and job_id not in self.only) or not condition(job.get("if"), context, status):
            return JobResult(job_id, "skipped")
        workspace = self.root / job_id / "workspace"
        workspace.mkdir(parents=True)
        summary = self.root / job_id / "summary.md"
        summary.touch()
        job_env = {k: interpolate(v, context) for k, v in (job.get("env") or {}).items()}
        context["env"] = dict(job_env)
        result = JobResult(job_id, "success", workspace=workspace)
        for index, step in enumerate(job.get("steps", [])):
            name = step.get("name") or step.get("uses") or f"step {index}"
            step_status = {"success": result.result == "success", "failure": result.result == "failure",
                           "cancelled": False}
            if not condition(step.get("if"), context, step_status):
                result.steps.append(StepResult(name, "skipped"))
                continue
            outcome = self.run_step(step, context, workspace, summary, job_env)
            outcome.name = name
            result.steps.append(outcome)
            if step.get("id"):
                context["steps"][step["id"]] = {"outputs": outcome.outputs, "outcome": outcome.outcome}
            if outcome.outcome == "failure" and not step.get("continue-on-error"):
                result.result = "failure"
        result.summary = summary.read_text()
        result.outputs = {k: interpolate(v, context) for k, v in (job.get("outputs") or {}).items()}
        return result

    # -- steps -------------------------------------------------------------------------------------
    def base_env(self, workspace: Path, summary: Path, output: Path) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")
                and k not in ("ANTHROPIC_API_KEY",)}
        return keep | self.env | {
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_EVENT_PATH": str(self.root / "event.json"), "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(self.root),
        }

    def run_step(self, step: dict[str, Any], context: dict[str, Any], workspace: Path, summary: Path,
                 job_env: dict[str, str]) -> StepResult:
        uses = str(step.get("uses", ""))
        inputs = {k: interpolate(v, context) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("actions/checkout@"):
            return self.checkout(inputs, workspace)
        if uses.startswith("actions/upload-artifact@"):
            return self.upload(inputs, workspace)
        if uses.startswith("actions/download-artifact@"):
            return self.download(inputs, workspace)
        if uses.startswith(SKIPPED_ACTIONS) or uses.startswith("actions/create-github-app-token@"):
            return StepResult(uses, "success", "(skipped by the local runner)")
        if uses == "./":
            return self.own_action(inputs, context, workspace, summary)
        if "run" in step:
            env = job_env | {k: interpolate(v, context) for k, v in (step.get("env") or {}).items()}
            return self.shell(step["run"], env, workspace, summary)
        raise ExpressionError(f"the local runner does not know {uses!r}")

    def shell(self, script: str, env: dict[str, str], workspace: Path, summary: Path,
              action_path: Path | None = None) -> StepResult:
        output = workspace.parent / "output.txt"
        output.write_text("")
        full_env = self.base_env(workspace, summary, output) | env
        if action_path:
            full_env["GITHUB_ACTION_PATH"] = str(action_path)
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=full_env, capture_output=True,
                              text=True, timeout=900)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return StepResult("run", "success" if proc.returncode == 0 else "failure",
                          f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}", outputs,
                          {name for name in SECRET_ENV if full_env.get(name)})

    def own_action(self, inputs: dict[str, str], context: dict[str, Any], workspace: Path,
                   summary: Path) -> StepResult:
        action = load_yaml(workspace / "action.yml")
        values = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in action["inputs"].items()}
        missing = set(inputs) - set(values)
        if missing:
            raise ExpressionError(f"inputs the action does not declare: {missing}")
        inner = {**context, "inputs": values, "steps": {}}
        for step in action["runs"]["steps"]:
            if step.get("id") != "run":
                continue  # setup and cache steps: this machine has Python, Node and factory-bot already
            env = {k: interpolate(v, inner) for k, v in step.get("env", {}).items()}
            result = self.shell(step["run"], env, workspace, summary, action_path=workspace)
            # The action's outputs map its steps' outputs, as GitHub does for a composite action.
            inner["steps"] = {"run": {"outputs": result.outputs}}
            result.outputs = {name: interpolate(spec["value"], inner) for name, spec in action["outputs"].items()}
            return result
        raise ExpressionError("action.yml has no step with id: run")

    def checkout(self, inputs: dict[str, str], workspace: Path) -> StepResult:
        args = ["git", "clone", "--quiet", self.repo, str(workspace)]
        subprocess.run(args, check=True, capture_output=True)
        if inputs.get("ref"):
            subprocess.run(["git", "checkout", "--quiet", inputs["ref"]], cwd=workspace, check=True,
                           capture_output=True)
        # The runner's checkout is the bot's own source: tests check out this repository's files on top.
        for name in ("action.yml",):
            shutil.copy(ROOT / name, workspace / name)
        return StepResult("checkout", "success")

    def upload(self, inputs: dict[str, str], workspace: Path) -> StepResult:
        lines = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
        include = [workspace / line.rstrip("/") for line in lines if not line.startswith("!")]
        exclude = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
        existing = [p for p in include if p.is_file() or (p.is_dir() and any(f.is_file() for f in p.rglob("*")))]
        if not existing:
            return StepResult("upload", "failure" if inputs.get("if-no-files-found") == "error" else "success",
                              "no files found")
        base = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in existing]))
        store = self.root / "artifacts" / inputs["name"]
        if store.exists():
            return StepResult("upload", "failure", "an artifact with this name already exists")
        for top in existing:
            files = [top] if top.is_file() else [f for f in top.rglob("*") if f.is_file()]
            for file in files:
                rel = file.relative_to(workspace).as_posix()
                if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat + "/*")
                       or any(fnmatch.fnmatch("/".join(rel.split("/")[:i]), pat) for i in range(1, rel.count("/") + 1))
                       for pat in exclude):
                    continue
                dest = store / file.relative_to(base)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)
        self.artifacts[inputs["name"]] = store
        return StepResult("upload", "success")

    def download(self, inputs: dict[str, str], workspace: Path) -> StepResult:
        store = self.artifacts.get(inputs["name"])
        if store is None:
            return StepResult("download", "failure", f"artifact {inputs['name']} not found")
        shutil.copytree(store, workspace / inputs.get("path", "."), dirs_exist_ok=True)
        return StepResult("download", "success")


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)
