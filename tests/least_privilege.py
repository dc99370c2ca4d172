"""Least privilege, observed: which scopes each job's token actually used across the stories, compared with
the `permissions:` its workflow declares. The fake GitHub refuses what a token lacks (so a lost scope fails
the story with a 403), and this ledger catches the other direction: a scope no story ever exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .actions_model import JobResult
from .actions_runner import ROOT
from .fakes.github_permissions import LEVEL, token_permissions

# (workflow, job, scope) a story cannot exercise here, each with the reason the job must still hold it.
ALLOWED_UNUSED: dict[tuple[str, str, str], str] = {}


def declared(workflow: str | Path) -> dict[str, dict[str, str]]:
    """Job → the scopes its token gets (metadata left out: every token has it and it cannot be dropped)."""
    path = Path(workflow) if Path(workflow).is_absolute() else ROOT / ".github" / "workflows" / workflow
    spec = YAML(typ="safe").load(path.read_text())
    out = {}
    for job_id, job in spec["jobs"].items():
        block = job["permissions"] if "permissions" in job else spec.get("permissions")
        out[job_id] = {s: lvl for s, lvl in token_permissions(block).items() if s != "metadata"}
    return out


@dataclass
class Ledger:
    """Workflow → job → scope → the highest level any call of that job needed."""

    seen: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def add(self, workflow: str, fake: Any, jobs: dict[str, JobResult]) -> None:
        for name, job in jobs.items():
            if not job.token:
                continue  # skipped: it never had a token
            held = self.seen.setdefault(workflow, {}).setdefault(name, {})
            for scope, level in fake.used.get(job.token, {}).items():
                if scope != "metadata" and LEVEL[level] > LEVEL[held.get(scope, "none")]:
                    held[scope] = level

    def check(self, workflow: str, jobs: tuple[str, ...] | None = None, *, file: Path | None = None) -> None:
        """Every job (of `jobs`) used exactly the scopes and levels it declares (in `file`, by default the
        workflow itself), bar the allowlist."""
        problems = []
        for job, scopes in declared(file or workflow).items():
            if jobs is not None and job not in jobs:
                continue
            used = self.seen.get(workflow, {}).get(job, {})
            expected = {s: lvl for s, lvl in scopes.items() if (workflow, job, s) not in ALLOWED_UNUSED}
            for scope, level in expected.items():
                if used.get(scope) != level:
                    problems.append(
                        f"{workflow} {job}: declares {scope}: {level}, the stories used {used.get(scope, 'none')}"
                    )
            problems += [
                f"{workflow} {job}: used {s}: {lvl} without declaring it (the fake should have refused)"
                for s, lvl in used.items()
                if LEVEL[scopes.get(s, "none")] < LEVEL[lvl]
            ]
        assert not problems, "\n".join(problems)


def without(workflow: str, job: str, scope: str, dest: Path, *, add: str | None = None) -> Path:
    """A copy of `workflow` whose `job` no longer holds `scope` (or, with `add`, also holds `scope: add`)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    spec = yaml.load((ROOT / ".github" / "workflows" / workflow).read_text())
    if add:
        spec["jobs"][job]["permissions"][scope] = add
    else:
        del spec["jobs"][job]["permissions"][scope]
    path = dest / workflow
    with path.open("w") as out:
        yaml.dump(spec, out)
    return path
