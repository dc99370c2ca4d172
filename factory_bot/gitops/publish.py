"""Plan, then apply: what a publication changes, as plain data, and the one place that applies it.

A plan (branch, files, commit message, PR title and body, labels, tag, release notes, assets) is computed
without touching the network; `--dry-run` prints it. Applying goes through the Forge interface only, and
every step is safe to repeat: what is already there is left as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from factory_bot.build import clients
from factory_bot.build.render import render_server
from factory_bot.errors import ForgeError
from factory_bot.forge import git as gitrepo
from factory_bot.forge.base import Forge, PullRequest, Release
from factory_bot.spec.loader import dump_spec
from factory_bot.spec.model import ServerSpec, Tool
from factory_bot.spec.raw_schema import input_rows
from factory_bot.text import md, templates_dir, visible

STATUS_MARKER = "<!-- mcp-factory:status -->"
REVIEW_MARKER = "<!-- mcp-factory:review -->"
SHA_LINE = re.compile(r"\*\*SHA-256:\*\* `([0-9a-f]{64})`")
STATES = ("parsing", "building", "pr-open", "failed", "released")


def branch_for(name: str) -> str:
    return f"factory/{name}"


def tag_for(name: str, version: str) -> str:
    return f"{name}-v{version}"


def tgz_name(spec: ServerSpec) -> str:
    return f"{spec.name}-{spec.version}.tgz"  # what `npm pack` names it


def release_assets(spec: ServerSpec) -> tuple[str, str]:
    """The files every release carries: the package and its checksum."""
    return tgz_name(spec), f"{tgz_name(spec)}.sha256"


# -- texts -----------------------------------------------------------------------------------------
def _fence(text: Any) -> str:
    # Inside a ``` block only another ``` could end it early.
    return visible(str(text)).replace("```", "`\u200b``")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "publish")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(md=md, fence=_fence, code=lambda name: f"`{name}`")
    env.globals.update(inputs=_inputs_cell, implementation=_implementation_cell)
    return env


def _inputs_cell(tool: Tool) -> str:
    parts = [f"`{name}`: {md(label, cell=True)}{'?' if optional else ''}" for name, label, optional in input_rows(tool)]
    return ", ".join(parts) or "none"


def _implementation_cell(tool: Tool) -> str:
    impl = tool.implementation
    if impl.kind == "http":
        return f"HTTP {impl.method} {md(impl.base_url, cell=True)}"
    return "code, **written by Claude**" if impl.written_by == "model" else "code"


def _model_tools(spec: ServerSpec) -> list[str]:
    return [t.name for t in spec.tools if t.implementation.kind == "code" and t.implementation.written_by == "model"]


def render_text(template: str, **context: Any) -> str:
    text = _environment().get_template(template).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def status_body(state: str, **context: Any) -> str:
    """The one status comment on a request issue, for `state` (one of STATES)."""
    defaults = {
        "name": "",
        "version": "",
        "pull_url": "",
        "pull_number": "",
        "release_url": "",
        "failed_stage": "",
        "reason": "",
        "hint": "",
    }
    return render_text("status_comment.md.j2", state=state, marker=STATUS_MARKER, **(defaults | context))


def report_status(forge: Forge, issue: int, state: str, **context: Any) -> None:
    """Edit the status comment in place and move the state label; both are idempotent."""
    forge.upsert_comment(issue, STATUS_MARKER, status_body(state, **context))
    forge.set_state_label(issue, state)


# -- issue → pull request --------------------------------------------------------------------------
@dataclass(frozen=True)
class PullPlan:
    """Everything `on-issue` will change, before it changes anything."""

    server: str
    version: str
    branch: str
    base: str
    files: dict[str, str] = field(repr=False)
    replace_dirs: tuple[str, ...]
    commit_message: str
    title: str
    body: str
    issue: int | None
    label: str = "pr-open"

    def summary(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["files"] = sorted(self.files)
        return data


def plan_pull(
    spec: ServerSpec,
    *,
    base: str,
    report_markdown: str,
    issue: int | None = None,
    sha256: str | None = None,
    proposal: dict[str, Any] | None = None,
    reimported: dict[str, Any] | None = None,
) -> PullPlan:
    """The branch, files and texts that publish `spec` (already validated) as a pull request; `reimported`
    (document, commit, kept) when the spec was re-imported from its changed OpenAPI document."""
    files = {f"specs/{spec.name}.yaml": dump_spec(spec)}
    files |= {f"servers/{spec.name}/{rel}": text for rel, text in render_server(spec).items()}
    body = render_text(
        "pr_body.md.j2",
        spec=spec,
        issue=issue,
        report=report_markdown.strip(),
        model_tools=_model_tools(spec),
        proposal=proposal,
        reimported=reimported,
        sha256=sha256,
        marker=f"<!-- mcp-factory:pr {spec.name} -->",
    )
    trailer = f"\n\nFactory-Issue: #{issue}" if issue else ""
    return PullPlan(
        server=spec.name,
        version=spec.version,
        branch=branch_for(spec.name),
        base=base,
        files=files,
        replace_dirs=(f"servers/{spec.name}",),
        commit_message=f"{spec.name} {spec.version}: generated MCP server{trailer}",
        title=f"MCP server {spec.name} {spec.version}",
        body=body,
        issue=issue,
    )


def apply_pull(plan: PullPlan, forge: Forge, workspace: Path) -> tuple[PullRequest, bool]:
    """Push the branch (only if its tree changed) and open or update the one PR; (pr, pushed)."""
    remote = forge.remote()
    shutil.rmtree(workspace / "repo", ignore_errors=True)  # a re-run in the same workdir starts afresh
    repo = gitrepo.clone(remote, workspace / "repo")
    _, pushed = gitrepo.publish_branch(
        repo,
        remote,
        base=plan.base,
        branch=plan.branch,
        files=plan.files,
        replace_dirs=list(plan.replace_dirs),
        message=plan.commit_message,
    )
    existing = forge.find_pull(plan.branch)
    if existing is None:
        return forge.create_pull(head=plan.branch, base=plan.base, title=plan.title, body=plan.body), pushed
    if (existing.title, existing.body) != (plan.title, plan.body):
        return forge.update_pull(existing.number, title=plan.title, body=plan.body), pushed
    return existing, pushed


# -- release ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReleasePlan:
    """What one version still needs before it is fully released; empty `steps` means done."""

    server: str
    version: str
    tag: str
    commit: str
    steps: tuple[str, ...]  # subset of: tag, release, upload:<asset>, notes
    assets: tuple[str, ...]
    note: str = ""  # why nothing can be done, e.g. spec changed without a version bump

    def summary(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"needs_build": self.needs_build}

    @property
    def needs_build(self) -> bool:
        return any(s == f"upload:{self.assets[0]}" for s in self.steps)


def plan_release(
    spec: ServerSpec,
    *,
    commit: str,
    tags: dict[str, str],
    release: Release | None,
    tagged_spec: ServerSpec | None = None,
) -> ReleasePlan:
    """What is missing for `spec`'s version: tag, release, assets (a half-finished release is completed)."""
    tag = tag_for(spec.name, spec.version)
    assets = release_assets(spec)
    if tag in tags and tagged_spec is not None and tagged_spec != spec:
        return ReleasePlan(
            spec.name,
            spec.version,
            tag,
            tags[tag],
            (),
            assets,
            note=f"specs/{spec.name}.yaml changed since {tag} but its version did not: "
            "bump the version to release the change",
        )
    steps = [] if tag in tags else ["tag"]
    if release is None:
        steps.append("release")
    steps += [f"upload:{name}" for name in assets if release is None or release.asset(name) is None]
    if release is not None and not SHA_LINE.search(release.body):
        steps.append("notes")
    return ReleasePlan(spec.name, spec.version, tag, tags.get(tag, commit), tuple(steps), assets)


def release_notes(spec: ServerSpec, *, sha256: str, download_url: str) -> str:
    return render_text(
        "release_notes.md.j2",
        spec=spec,
        tgz_name=tgz_name(spec),
        sha256=sha256,
        install=clients.install_command(spec, download_url),
        snippets=clients.snippets(spec),
        model_tools=_model_tools(spec),
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def apply_release(plan: ReleasePlan, spec: ServerSpec, forge: Forge, repo: Any, *, tgz: Path | None) -> Release | None:
    """Carry out the steps of `plan`; `tgz` is the built package when an upload of it is pending."""
    if not plan.steps:
        return forge.get_release(plan.tag)
    remote = forge.remote()
    if "tag" in plan.steps:
        gitrepo.push_tag(repo, remote, tag=plan.tag, sha=plan.commit, message=f"{spec.name} {spec.version}")
    release = forge.get_release(plan.tag)
    with tempfile.TemporaryDirectory(prefix="factory-release-") as tmp:
        if tgz is None and release is not None and release.asset(plan.assets[0]):
            # Only the checksum or notes are missing: take the package already published, not a rebuild.
            tgz = Path(tmp) / plan.assets[0]
            tgz.write_bytes(forge.download_asset(release.asset(plan.assets[0])))  # type: ignore[arg-type]
        if tgz is None:
            raise ForgeError(
                f"{plan.tag} needs its package but none was built",
                hint="run `factory-bot on-push --stage build` before the publish stage",
            )
        digest = sha256_of(tgz)
        notes = release_notes(spec, sha256=digest, download_url=forge.download_url(plan.tag, plan.assets[0]))
        if release is None:
            release = forge.create_release(tag=plan.tag, name=f"{spec.name} {spec.version}", body=notes)
        checksum = Path(tmp) / plan.assets[1]
        checksum.write_text(f"{digest}  {plan.assets[0]}\n", encoding="utf-8")
        for name, path, kind in ((plan.assets[0], tgz, "application/gzip"), (plan.assets[1], checksum, "text/plain")):
            if release.asset(name) is None:
                forge.upload_asset(release, path, name=name, content_type=kind)
        if release.body != notes:
            release = forge.update_release(release, body=notes)
    return forge.get_release(plan.tag)


def plans_json(plans: list[Any]) -> str:
    """A dry run's output: every plan as JSON."""
    return json.dumps(
        [p.summary() if hasattr(p, "summary") else dataclasses.asdict(p) for p in plans], indent=2, sort_keys=True
    )
