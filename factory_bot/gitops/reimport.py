"""A push to the default branch that changes a committed OpenAPI document re-imports every spec whose
`source.openapi` names it, and proposes the result as a pull request; it never pushes to the default branch.

Two stages, split by trust as the other flows are:
  build    (no secrets) re-imports each spec the document has moved away from (deterministic Python, no model,
           the maintainer's curation kept), then builds and validates the re-imported server: reimport.json,
           reimport/<name>/{spec.yaml,build.json}. A document that no longer imports (malformed, over the
           tool limit, a refused remote $ref) is reported there, located on the document, and fails the job.
  publish  (write token, runs nothing generated) re-imports again from its own clone, so nothing the build job
           wrote is taken as the spec; checks that the build job validated exactly that spec and reported the
           bytes its own rebuild gives; pushes factory/<name>.reimport and opens or updates its one PR, whose
           body has the tools added, changed and removed and the version they call for.
Merging that PR is an ordinary spec change: the release flow then releases `<name>-v<bumped>`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from factory_bot.errors import ConfigError, FactoryError, OpenAPIError, PolicyError
from factory_bot.forge import git as gitrepo
from factory_bot.gitops import openapi_source, publish
from factory_bot.gitops.common import Context, Mismatch, _clone_default, _read_json, _write_json, verified_rebuild
from factory_bot.spec.loader import load_spec_file

LINE = re.compile(r"\bline (\d+)\b")


def branch_for(name: str) -> str:
    """The re-import's own branch: a request in flight on factory/<name> is never replaced by it (a dot
    cannot be part of a server name, so no server's branch is called this)."""
    return f"{publish.branch_for(name)}.reimport"


@dataclass
class Stale:
    """A spec its committed document has moved away from, and what re-importing it gives."""

    name: str
    document: str  # the document's path in the repository
    update: openapi_source.Update

    def summary(self) -> dict[str, Any]:
        proposal = self.update.proposal
        return {
            "name": self.name,
            "document": self.document,
            "previous": proposal.previous,
            "version": self.update.spec.version,
            "changes": proposal.reasons,
            "kept": self.update.kept,
        }


@dataclass
class Refused:
    """A spec whose document no longer imports: nothing is proposed or published for it."""

    name: str
    document: str
    error: str
    hint: str
    line: int | None

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "document": self.document, "error": self.error, "hint": self.hint, "line": self.line}


def find_stale(tree: Path) -> tuple[list[Stale], list[Refused]]:
    """Every spec in `tree` (a clone of the default branch, with history) whose committed document gives
    something else than the spec says, re-imported; and every one whose document cannot be imported."""
    stale: list[Stale] = []
    refused: list[Refused] = []
    repo = gitrepo.open_clone(tree)
    if repo is None or repo.git.rev_parse("--is-shallow-repository") == "true":
        # Without history every document would be its own baseline: a new operation the filters take in
        # would read as one the maintainer dropped.
        raise ConfigError(
            f"{tree} is not a clone with its full history, which the re-import reads its baselines from",
            hint="check out with `fetch-depth: 0` (or run from a full clone)",
        )
    for spec_path in sorted((tree / "specs").glob("*.yaml")):
        name = spec_path.stem
        document = openapi_source.committed_document(tree, name)
        if document is None:
            continue
        spec = load_spec_file(spec_path)
        with tempfile.TemporaryDirectory(prefix="factory-reimport-") as tmp:
            previous = _imported_from(repo, name, document, Path(tmp))
            try:
                fresh = openapi_source.update(spec_path, previous=previous)
            except FactoryError as exc:
                refused.append(_refused(name, document, exc))
                continue
        if fresh.spec.model_dump(exclude={"version"}) == spec.model_dump(exclude={"version"}):
            continue
        stale.append(Stale(name, document.as_posix(), fresh))
    return stale, refused


def _imported_from(repo: Any, name: str, document: Path, tmp: Path) -> str | None:
    """The document as it was when specs/<name>.yaml last changed (what it was imported from), written to
    `tmp`: the baseline the maintainer's edits are read against. None when git does not know it."""
    sha = gitrepo.log(repo, "-1", "--format=%H", "--", f"specs/{name}.yaml").strip()
    text = gitrepo.show(repo, f"{sha}:{document.as_posix()}") if sha else None
    if text is None:
        return None
    copy = tmp / document.name
    copy.write_text(text + "\n", encoding="utf-8")  # `git show` drops the last newline; parsers don't mind
    return str(copy)


def _refused(name: str, document: Path, exc: FactoryError) -> Refused:
    where = getattr(exc, "where", None) if isinstance(exc, OpenAPIError) else None
    message = exc.message
    if where:  # the importer names the temporary or absolute path it read: say the repository's path
        message = message.replace(f"{where}: ", "", 1)
    found = LINE.search(message)
    return Refused(
        name,
        document.as_posix(),
        f"{document.as_posix()}: {message}",
        exc.hint or f"fix {document.as_posix()}, or run `factory-bot import openapi --update specs/{name}.yaml`",
        int(found[1]) if found else None,
    )


def _failure(refused: list[Refused]) -> str:
    return "; ".join(
        f"specs/{r.name}.yaml cannot be re-imported from {r.document}: {r.error.removeprefix(r.document + ': ')}"
        for r in refused
    )


def reimport_build(ctx: Context) -> dict[str, Any]:
    """Stage build: re-import every stale spec, build and validate it; reimport.json says what was found."""
    checkout = ctx.checkout or _clone_default(ctx, "main")
    stale, refused = find_stale(checkout)
    built = []
    for item in stale:
        out = ctx.workdir / "reimport" / item.name
        ctx.say(f"re-imported {item.name} from {item.document}: {item.update.spec.version}")
        result = ctx.builder(item.update.spec, out, progress=ctx.say)
        (out / "spec.yaml").write_text(item.update.text, encoding="utf-8")
        _write_json(out / "build.json", result.to_json())
        built.append(item.summary() | {"ok": bool(result.ok)})
    summary: dict[str, Any] = {
        "ok": not refused and all(b["ok"] for b in built),
        "reimported": built,
        "refused": [r.summary() for r in refused],
    }
    if refused:
        summary["error"] = _failure(refused)
    elif not summary["ok"]:
        failed = ", ".join(b["name"] for b in built if not b["ok"])
        summary["error"] = f"the re-imported server failed validation: {failed}; nothing was proposed"
    _write_json(ctx.workdir / "reimport.json", summary)
    return summary


def _verified(ctx: Context, item: Stale, tag_exists: bool) -> tuple[str, str]:
    """(report markdown, sha256) of the build job's build of exactly this re-import, checked against a
    rebuild made here (running nothing generated); refused when anything does not match."""
    if tag_exists:
        raise PolicyError(
            f"{item.name} {item.update.spec.version} is released already, from another spec",
            hint=f"raise `version:` in specs/{item.name}.yaml past it; a release never changes",
        )
    report, _made, package = verified_rebuild(
        ctx,
        ctx.workdir / "reimport" / item.name,
        item.update.spec,
        item.update.text,
        what=item.name,
        mismatch=Mismatch(
            f"the build job re-imported {item.name} into a different spec than the default branch gives",
            "re-run the workflow so both jobs read the same commit",
        ),
        failed_hint="see the build job's log",
    )
    return report.markdown(), package.sha256


def reimport_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: re-import from a fresh clone, verify the build job's build of it, open or update the PR."""
    forge = ctx.get_forge()
    ref = event.get("ref")
    if ref and ref != f"refs/heads/{forge.default_branch}":
        return {"ok": True, "skipped": f"not a push to {forge.default_branch}"}
    built = _read_json(ctx.workdir / "reimport.json")
    if built.get("ok") is not True or (ctx.build_result is not None and ctx.build_result != "success"):
        return {"ok": False, "error": "the build job did not re-import and validate (see its log); nothing proposed"}
    clone = _clone_default(ctx, "reimport-repo")
    head = gitrepo.open_clone(clone).head.commit.hexsha  # type: ignore[union-attr]
    stale, refused = find_stale(clone)
    if refused:  # the build job saw the same document: a mismatch means the branch moved in between
        return {"ok": False, "error": _failure(refused), "refused": [r.summary() for r in refused]}
    tags = gitrepo.remote_tags(forge.remote())
    pulls = []
    for item in stale:
        markdown, sha256 = _verified(ctx, item, publish.tag_for(item.name, item.update.spec.version) in tags)
        plan = publish.plan_pull(
            item.update.spec,
            base=forge.default_branch,
            report_markdown=markdown,
            sha256=sha256,
            proposal=item.update.proposal.to_json(),
            reimported={"document": item.document, "commit": head, "kept": item.update.kept},
        )
        plan = plan_for_reimport(plan, item)
        if ctx.dry_run:
            pulls.append(plan.summary())
            continue
        pr, pushed = publish.apply_pull(plan, forge, ctx.workdir / "pulls" / item.name)
        ctx.say(f"pull request #{pr.number} re-imports {item.name} {item.update.spec.version}")
        pulls.append({"name": item.name, "version": item.update.spec.version, "pull": pr.number, "url": pr.url})
        pulls[-1]["pushed"] = pushed
    return {"ok": True, "pulls": pulls} | ({"dry_run": True} if ctx.dry_run else {})


def plan_for_reimport(plan: publish.PullPlan, item: Stale) -> publish.PullPlan:
    """The request flow's pull plan, on the re-import's own branch with its own title and commit message."""
    version = item.update.spec.version
    return replace(
        plan,
        branch=branch_for(item.name),
        title=f"MCP server {item.name} {version}: re-imported from {item.document}",
        commit_message=f"{item.name} {version}: re-imported from {item.document}\n\n"
        + "\n".join(f"- {c}" for c in item.update.proposal.reasons),
    )


def on_reimport(event: dict[str, Any], ctx: Context, stage: str | None = None) -> dict[str, Any]:
    """Follow the committed OpenAPI documents: a pull request per spec they moved away from."""
    if stage == "build":
        return reimport_build(ctx)
    if stage == "publish":
        return reimport_publish(event, ctx)
    if stage is not None:
        raise ConfigError(f"on-reimport has no stage {stage}", hint="use --stage build or --stage publish")
    built = reimport_build(ctx)
    if not built["ok"]:
        return built
    return reimport_publish(event, ctx)
