"""Release: every spec version on the default branch without a complete release is tagged and released."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory_bot.errors import FactoryError, ForgeError, PolicyError, ValidationFailed
from factory_bot.forge import git as gitrepo
from factory_bot.gitops import publish, registry
from factory_bot.gitops.common import (
    TRAILER,
    Context,
    Mismatch,
    _clone_default,
    _report_failure,
    _write_json,
    verified_rebuild,
)
from factory_bot.spec.loader import dump_spec, load_spec_file, load_spec_text
from factory_bot.spec.model import ServerSpec


def _specs_at(checkout: Path) -> list[ServerSpec]:
    return [load_spec_file(p) for p in sorted((checkout / "specs").glob("*.yaml"))]


def _spec_at_ref(repo: gitrepo.Repo, ref: str, name: str) -> ServerSpec | None:
    text = gitrepo.show(repo, f"{ref}:specs/{name}.yaml")
    try:
        return None if text is None else load_spec_text(text, source=f"{ref}:specs/{name}.yaml")
    except FactoryError:
        return None


def _is_default_push(event: dict[str, Any], default_branch: str) -> bool:
    ref = event.get("ref")
    return not ref or ref == f"refs/heads/{default_branch}"


def push_build(ctx: Context) -> dict[str, Any]:
    """Stage build: build every spec whose version is not fully released (judged from tags and the index)."""
    checkout = ctx.checkout or _clone_default(ctx, "main")
    repo = gitrepo.Repo(checkout)
    tags = {t.name for t in repo.tags}
    indexed = {(s.name, v.version): v for s in registry.read(checkout) for v in s.versions}
    releases = {r.tag: r for r in ctx.get_forge().list_releases()} if ctx.forge else None
    built = []
    for spec in _specs_at(checkout):
        tag = publish.tag_for(spec.name, spec.version)
        if releases is not None:
            release = releases.get(tag)
            done = release is not None and all(release.asset(a) for a in publish.release_assets(spec))
        else:
            entry = indexed.get((spec.name, spec.version))
            done = tag in tags and entry is not None and entry.released and bool(entry.sha256)
        if done:
            continue
        out = ctx.workdir / "release" / tag
        ctx.say(f"build {tag}")
        result = ctx.builder(spec, out, progress=ctx.say)
        (out / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
        _write_json(out / "build.json", result.to_json())
        if not result.ok:
            raise ValidationFailed(
                f"{spec.name} {spec.version} failed validation on the default branch",
                hint="fix the spec in a pull request; the review check shows the report",
            )
        built.append(tag)
    _write_json(ctx.workdir / "release.json", {"built": built})
    return {"ok": True, "built": built}


def _verified_package(ctx: Context, spec: ServerSpec, tag: str) -> Path:
    """The package for `tag`, rebuilt here from the spec (running nothing generated), after checking that the
    build job validated exactly this spec and reported exactly these bytes. The build job's own .tgz is never
    read: what is uploaded is this rebuild."""
    out = ctx.workdir / "release" / tag
    if not (out / "build.json").exists():
        raise ForgeError(
            f"no valid build of {tag} in {out}",
            hint="run `factory-bot on-push --stage build` first (it builds what is unreleased)",
        )
    _report, made, package = verified_rebuild(
        ctx,
        out,
        spec,
        dump_spec(spec),
        what=tag,
        mismatch=Mismatch(
            f"the build of {tag} was made from a different spec than the default branch holds",
            "re-run the release workflow so build and publish see the same commit",
        ),
        failed_hint="see the build job's log; fix the spec in a pull request",
    )
    ctx.say(f"trusted rebuild: {package.tgz.name} {package.sha256} in {made.seconds:.2f} s, as the build reported")
    return package.tgz


def push_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: tag, release and attach what the build stage made; complete half-done releases;
    refresh the index. Never builds or runs generated code."""
    forge = ctx.get_forge()
    if not _is_default_push(event, forge.default_branch):
        return {"ok": True, "skipped": f"not a push to {forge.default_branch}"}
    clone = _clone_default(ctx, "publish-repo")
    repo = gitrepo.Repo(clone)
    gitrepo.as_bot(repo, forge.remote())  # tags, the index commit and pushes: as the bot, with its token
    head = repo.head.commit.hexsha
    tags = gitrepo.remote_tags(forge.remote())
    plans, done = [], []
    for spec in _specs_at(clone):
        tag = publish.tag_for(spec.name, spec.version)
        plan = publish.plan_release(
            spec,
            commit=head,
            tags=tags,
            release=forge.get_release(tag),
            tagged_spec=_spec_at_ref(repo, tag, spec.name) if tag in tags else None,
        )
        plans.append(plan)
        if plan.note and not ctx.dry_run and (issue := _requesting_issue(repo, spec.name)):
            _report_failure(
                forge,
                issue,
                "release",
                PolicyError(
                    plan.note,
                    hint=f"open a pull request that raises `version:` in specs/{spec.name}.yaml; "
                    f"the tag {tag} stays where it is",
                ),
            )
        if ctx.dry_run or not plan.steps:
            continue
        issue = _requesting_issue(repo, spec.name)
        try:
            tgz = _verified_package(ctx, spec, tag) if plan.needs_build else None
            release = publish.apply_release(plan, spec, forge, repo, tgz=tgz)
        except FactoryError as exc:
            if issue:
                _report_failure(forge, issue, "release", exc)
            raise
        done.append(tag)
        if issue and release:
            publish.report_status(
                forge, issue, "released", name=spec.name, version=spec.version, release_url=release.url
            )
    refused = [p.note for p in plans if p.note]  # a released version never changes: say so, fail the job
    summary: dict[str, Any] = {"ok": not refused, "plans": [p.summary() for p in plans], "released": done}
    if refused:
        summary["error"] = "\n".join(refused)
    if ctx.dry_run:
        return summary | {"dry_run": True}
    gitrepo.fetch(repo, "+refs/tags/*:refs/tags/*")
    files = registry.index_files(registry.read(clone, forge.list_releases()))
    sha = gitrepo.commit_to_branch(
        repo,
        forge.remote(),
        branch=forge.default_branch,
        files=files,
        message="registry: refresh REGISTRY.md and registry.json [skip ci]",
    )
    return summary | {"index_commit": sha}


def _requesting_issue(repo: gitrepo.Repo, name: str) -> int | None:
    """The issue that asked for this server, from the `Factory-Issue: #N` trailer of its last spec commit."""
    message = gitrepo.log(repo, "-1", "--format=%B", "--", f"specs/{name}.yaml")
    match = TRAILER.search(message)
    return int(match.group(1)) if match else None


def on_push(event: dict[str, Any], ctx: Context, stage: str | None = None) -> dict[str, Any]:
    """Release every spec version that has no complete release yet; safe to run any number of times."""
    if stage == "build":
        return push_build(ctx)
    if stage == "publish":
        return push_publish(event, ctx)
    if not ctx.dry_run:
        push_build(ctx)
    return push_publish(event, ctx)
