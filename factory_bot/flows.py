"""The GitHub-event flows: issue → PR (on-issue), PR review (on-pr), release (on-push).

Each flow runs in stages that hand files to each other through a workdir, so trust stays split:
gate (issues token: who may ask, how often, how much; see policy.py), parse (model key, no generated code), build (no secrets: the only place generated code runs),
publish (write token, never runs generated code: it re-renders from the spec and refuses drift).
With no stage, all of them run in one process (local forge, tests, people trying it out).
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git

from . import policy as policies
from . import publish, registry, versioning
from .errors import FactoryError, ForgeError, PolicyError, RequestError, ValidationFailed
from .forge import git as gitops
from .forge.base import Forge
from .publish import read_tree
from .spec import ServerSpec
from .spec_yaml import dump_spec, load_spec_file, load_spec_text

Builder = Callable[..., Any]  # pipeline.build(spec, out_dir, *, progress=None) -> BuildResult
Parser = Callable[..., Any]  # parse.parse_issue(title, body) -> ParseResult (with .spec)


def _default_builder(spec: ServerSpec, out_dir: Path, *, progress: Any = None) -> Any:
    from .pipeline import build

    return build(spec, out_dir, progress=progress)


def _default_parser(title: str, body: str) -> Any:
    from .parse import parse_issue

    return parse_issue(title, body)


@dataclass
class Context:
    """What a flow needs from outside; every part can be swapped in tests."""

    workdir: Path
    forge: Callable[[], Forge] | None = None  # built only by the stages that may hold a token
    checkout: Path | None = None  # a clone of the default branch already on disk (Actions' checkout)
    builder: Builder = _default_builder
    parser: Parser = _default_parser
    policy: policies.Policy | None = None  # None: the checkout's .github/mcp-factory.yml, else the defaults
    dry_run: bool = False
    say: Callable[[str], None] = lambda _m: None
    _forge: Forge | None = field(default=None, repr=False)

    def get_forge(self) -> Forge:
        if self._forge is None:
            if self.forge is None:
                raise ForgeError("this stage needs the forge but none was configured",
                                 hint="pass --forge local --repo PATH, or set GITHUB_REPOSITORY and GITHUB_TOKEN")
            self._forge = self.forge()
        return self._forge


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _failure(stage: str, exc: FactoryError) -> dict[str, Any]:
    return {"ok": False, "stage": stage, "error": exc.message, "hint": exc.hint or "",
            "exit_code": exc.exit_code}


def _clone_default(ctx: Context, name: str) -> Path:
    """A fresh clone of the forge's default branch under the workdir (with tags)."""
    forge = ctx.get_forge()
    dest = ctx.workdir / name
    if dest.exists():
        import shutil

        shutil.rmtree(dest)
    repo = gitops.clone(forge.remote(), dest, branch=forge.default_branch)
    repo.git.fetch("origin", "+refs/tags/*:refs/tags/*")
    return dest


# -- issue → pull request --------------------------------------------------------------------------
def _issue(event: dict[str, Any]) -> dict[str, Any]:
    issue = event.get("issue")
    if not isinstance(issue, dict) or "number" not in issue:
        raise RequestError("the event has no issue", hint="run on-issue for `issues` or `issue_comment` events")
    return issue


def _policy(ctx: Context) -> policies.Policy:
    if ctx.policy is None:
        ctx.policy = policies.load_policy(ctx.checkout)
    return ctx.policy


def issue_gate(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage gate: who may ask, how often and how much, before any model call or build (needs the forge).

    A refusal gets one polite comment on the issue; an accepted run gets the label the rate limit counts.
    """
    issue = _issue(event)
    forge = ctx.get_forge()
    if ctx.checkout is None:
        ctx.checkout = _clone_default(ctx, "base")
    decision = policies.decide(_policy(ctx), policies.Request.from_event(event), forge, datetime.now(UTC))
    if not ctx.dry_run:
        policies.apply(decision, forge, int(issue["number"]))
    _write_json(ctx.workdir / "gate.json", decision.to_json())
    ctx.say(f"gate: {'accepted' if decision.allowed else 'refused'} ({decision.rule})")
    return {"ok": True, "allowed": decision.allowed, "rule": decision.rule, "message": decision.message}


def issue_parse(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage parse: policy check, issue → spec (version bumped if the spec changed without one)."""
    issue = _issue(event)
    try:
        if issue.get("pull_request"):
            raise RequestError("this is a pull request, not a request issue")
        if ctx.checkout is None and ctx.forge is not None:
            ctx.checkout = _clone_default(ctx, "base")
        policy = _policy(ctx)
        too_big = policies.check_size(policy, issue.get("title") or "", issue.get("body") or "")
        if too_big:  # the gate refused it already; this stage holds no token and never trusts that it ran
            raise PolicyError(too_big.message, hint=too_big.hint)
        result = ctx.parser(issue.get("title") or "", issue.get("body") or "")
        spec: ServerSpec = result.spec
        policies.check_spec(policy, spec)
        proposal = None
        previous = _previous_spec(ctx, spec.name)
        if previous is not None:
            proposal = versioning.propose(previous, spec)
            if not proposal.changes and previous.version == spec.version:
                raise RequestError(f"{spec.name} {spec.version} on the default branch already matches this request",
                                   hint="edit the issue to change a tool; nothing to publish as it is")
            if proposal.version:
                spec = spec.model_copy(update={"version": proposal.version})
    except FactoryError as exc:
        _write_json(ctx.workdir / "outcome.json", _failure("parse", exc))
        raise
    (ctx.workdir / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    request = {"issue": issue["number"], "name": spec.name, "version": spec.version,
               "source": getattr(result, "source", ""),
               "proposal": None if proposal is None else proposal.to_json()}
    _write_json(ctx.workdir / "request.json", request)
    _write_json(ctx.workdir / "outcome.json", {"ok": True, "stage": "parse"})
    return request


def _previous_spec(ctx: Context, name: str) -> ServerSpec | None:
    if ctx.checkout is None:
        return None
    path = ctx.checkout / "specs" / f"{name}.yaml"
    return load_spec_file(path) if path.exists() else None


def issue_build(ctx: Context) -> dict[str, Any]:
    """Stage build: spec → server, validation report and package, all inside the workdir."""
    spec = load_spec_file(ctx.workdir / "spec.yaml")
    result = ctx.builder(spec, ctx.workdir / "build", progress=ctx.say)
    summary = result.to_json() | {"report_markdown": result.report.to_markdown()}
    _write_json(ctx.workdir / "build.json", summary)
    if not result.ok:
        failed = ", ".join(c.name for c in result.report.checks if not c.ok) or "packaging"
        exc = ValidationFailed(f"the generated server failed validation: {failed}",
                               hint="see the validation report; edit the issue to adjust the request")
        _write_json(ctx.workdir / "outcome.json", _failure("build", exc))
        raise exc
    _write_json(ctx.workdir / "outcome.json", {"ok": True, "stage": "build"})
    return summary


def _report_from(built: dict[str, Any]) -> str:
    """The validation table, rebuilt from the build's structured checks with every message escaped:
    build.json comes from the job where generated code ran, so its own Markdown is never pasted."""
    from .validate import ValidationReport

    try:
        return ValidationReport.from_json(built.get("checks") or []).to_markdown()
    except (KeyError, TypeError, ValueError):
        return "_The build's validation report could not be read; the Review workflow validates again._"


def issue_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: re-render from the spec, refuse drift, push the branch, open/update the one PR."""
    issue = _issue(event)
    number = int(issue["number"])
    outcome = _read_json(ctx.workdir / "outcome.json")
    if not outcome.get("ok", False) or outcome.get("stage") != "build":
        stage = outcome.get("stage") or "build"
        reason = outcome.get("error") or "the earlier stage did not finish (see the workflow run)"
        if not ctx.dry_run:
            publish.report_status(ctx.get_forge(), number, "failed", failed_stage=stage, reason=reason,
                                  hint=outcome.get("hint", ""))
        return {"ok": False, "stage": stage, "error": reason}
    spec = load_spec_file(ctx.workdir / "spec.yaml")
    built = _read_json(ctx.workdir / "build.json")
    problems = publish.drift(spec, read_tree(ctx.workdir / "build" / spec.name))
    if problems:
        raise PolicyError("the build's server source differs from what the spec generates:\n  "
                          + "\n  ".join(problems[:20]),
                          hint="the build stage was tampered with or ran a different factory-bot; rebuild")
    request = _read_json(ctx.workdir / "request.json")
    proposal = request.get("proposal") or None
    forge = ctx.get_forge()
    plan = publish.plan_pull(spec, base=forge.default_branch, report_markdown=_report_from(built),
                             issue=number, sha256=built.get("sha256"),
                             proposal=proposal)
    if ctx.dry_run:
        return {"ok": True, "dry_run": True, "plan": plan.summary()}
    try:
        _check_name_free(ctx, issue, spec.name)
        pr, pushed = publish.apply_pull(plan, forge, ctx.workdir)
    except FactoryError as exc:
        _report_failure(forge, number, "publish", exc)
        raise
    publish.report_status(forge, number, "pr-open", name=spec.name, version=spec.version,
                          pull_url=pr.url, pull_number=pr.number)
    return {"ok": True, "pull": pr.number, "url": pr.url, "branch": plan.branch, "pushed": pushed}


def _report_failure(forge: Forge, issue: int, stage: str, exc: FactoryError) -> None:
    """Say on the issue what failed and what to do; best effort, since GitHub itself may be what failed."""
    try:
        publish.report_status(forge, issue, "failed", failed_stage=stage, reason=exc.message, hint=exc.hint or "")
    except ForgeError:
        pass  # the job's log still shows the error and its hint


MAINTAINERS = ("OWNER", "MEMBER", "COLLABORATOR")  # GitHub's author_association of people with write access
TRAILER = re.compile(r"^Factory-Issue: #(\d+)\s*$", re.MULTILINE)


def _check_name_free(ctx: Context, issue: dict[str, Any], name: str) -> None:
    """A server belongs to the request that created it: another issue may not take its name.

    Taken means specs/<name>.yaml on the default branch was added by another issue (or by hand), or the
    branch factory/<name> is being built for another issue. A maintainer's request may update any server.
    """
    number = int(issue["number"])
    if issue.get("author_association") in MAINTAINERS:
        return
    forge = ctx.get_forge()
    dest = ctx.workdir / "name-check"
    shutil.rmtree(dest, ignore_errors=True)  # never judge from an older clone
    gitops.clone(forge.remote(), dest, branch=forge.default_branch)
    repo = git.Repo(dest)
    path = f"specs/{name}.yaml"
    holder = None
    if (dest / path).exists():
        added = repo.git.log("--diff-filter=A", "--format=%H", "--", path).split()
        found = TRAILER.search(repo.git.log("-1", "--format=%B", added[-1])) if added else None
        if found is None or int(found[1]) != number:
            holder = f"{path} was requested in #{found[1]}" if found else f"{path} was added by a maintainer"
    branch = publish.branch_for(name)
    if holder is None and gitops.remote_branch(repo, forge.remote(), branch):
        repo.git.fetch("origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        found = TRAILER.search(repo.git.log("-1", "--format=%B", f"origin/{branch}"))
        if found and int(found[1]) != number:
            holder = f"{branch} is being built for #{found[1]}"
    if holder:
        raise PolicyError(f"the server name {name!r} belongs to another request: {holder}",
                          hint="pick another name (change `name:` in this issue's spec), or ask a maintainer "
                               f"to request the change to {name}")


def on_issue(event: dict[str, Any], ctx: Context, stage: str | None = None) -> dict[str, Any]:
    """Issue → PR, one stage or all of them (then the status comment follows each stage)."""
    if stage == "gate":
        return issue_gate(event, ctx)
    if stage == "parse":
        return issue_parse(event, ctx)
    if stage == "build":
        return issue_build(ctx)
    if stage == "publish":
        return issue_publish(event, ctx)
    number = int(_issue(event)["number"])
    forge = ctx.get_forge()
    live = not ctx.dry_run
    gate = issue_gate(event, ctx)  # marks the issue `parsing` when it lets the request through
    if not gate["allowed"]:
        return gate
    try:
        request = issue_parse(event, ctx)
        if live:
            publish.report_status(forge, number, "building", name=request["name"], version=request["version"])
        issue_build(ctx)
    except FactoryError:
        if live:
            issue_publish(event, ctx)  # reports the failure recorded in outcome.json
        raise
    return issue_publish(event, ctx)


# -- release (push to the default branch) ----------------------------------------------------------
def _specs_at(checkout: Path) -> list[ServerSpec]:
    return [load_spec_file(p) for p in sorted((checkout / "specs").glob("*.yaml"))]


def _spec_at_ref(repo: git.Repo, ref: str, name: str) -> ServerSpec | None:
    try:
        return load_spec_text(repo.git.show(f"{ref}:specs/{name}.yaml"), source=f"{ref}:specs/{name}.yaml")
    except (git.GitCommandError, FactoryError):
        return None


def _is_default_push(event: dict[str, Any], default_branch: str) -> bool:
    ref = event.get("ref")
    return not ref or ref == f"refs/heads/{default_branch}"


def push_build(ctx: Context) -> dict[str, Any]:
    """Stage build: build every spec whose version is not fully released (judged from tags and the index)."""
    checkout = ctx.checkout or _clone_default(ctx, "main")
    repo = git.Repo(checkout)
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
            raise ValidationFailed(f"{spec.name} {spec.version} failed validation on the default branch",
                                   hint="fix the spec in a pull request; the review check shows the report")
        built.append(tag)
    _write_json(ctx.workdir / "release.json", {"built": built})
    return {"ok": True, "built": built}


def _verified_package(ctx: Context, spec: ServerSpec, tag: str) -> Path:
    """The package the build stage made for `tag`, after checking it is the one for this exact spec."""
    out = ctx.workdir / "release" / tag
    built = _read_json(out / "build.json")
    tgz = out / publish.tgz_name(spec)
    if not built.get("ok") or not tgz.exists():
        raise ForgeError(f"no valid build of {tag} in {out}",
                         hint="run `factory-bot on-push --stage build` first (it builds what is unreleased)")
    if (out / "spec.yaml").read_text(encoding="utf-8") != dump_spec(spec):
        raise PolicyError(f"the build of {tag} was made from a different spec than the default branch holds",
                          hint="re-run the release workflow so build and publish see the same commit")
    if publish.sha256_of(tgz) != built.get("sha256"):
        raise PolicyError(f"{tgz.name} does not match the checksum its build recorded", hint="rebuild it")
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/package.json")
        manifest = json.loads(member.read()) if member else {}
    if (manifest.get("name"), manifest.get("version")) != (spec.name, spec.version):
        raise PolicyError(f"{tgz.name} holds {manifest.get('name')} {manifest.get('version')}, not {tag}")
    return tgz


def push_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: tag, release and attach what the build stage made; complete half-done releases;
    refresh the index. Never builds or runs generated code."""
    forge = ctx.get_forge()
    if not _is_default_push(event, forge.default_branch):
        return {"ok": True, "skipped": f"not a push to {forge.default_branch}"}
    clone = _clone_default(ctx, "publish-repo")
    repo = git.Repo(clone)
    repo.git.update_environment(**forge.remote().env())  # tags, the index commit and pushes: as the bot, with its token
    head = repo.head.commit.hexsha
    tags = gitops.remote_tags(forge.remote())
    plans, done = [], []
    for spec in _specs_at(clone):
        tag = publish.tag_for(spec.name, spec.version)
        plan = publish.plan_release(spec, commit=head, tags=tags, release=forge.get_release(tag),
                                    tagged_spec=_spec_at_ref(repo, tag, spec.name) if tag in tags else None)
        plans.append(plan)
        if plan.note and not ctx.dry_run and (issue := _requesting_issue(repo, spec.name)):
            _report_failure(forge, issue, "release", PolicyError(
                plan.note, hint=f"open a pull request that raises `version:` in specs/{spec.name}.yaml; "
                                f"the tag {tag} stays where it is"))
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
            publish.report_status(forge, issue, "released", name=spec.name, version=spec.version,
                                  release_url=release.url)
    refused = [p.note for p in plans if p.note]  # a released version never changes: say so, fail the job
    summary: dict[str, Any] = {"ok": not refused, "plans": [p.summary() for p in plans], "released": done}
    if refused:
        summary["error"] = "\n".join(refused)
    if ctx.dry_run:
        return summary | {"dry_run": True}
    repo.git.fetch("origin", "+refs/tags/*:refs/tags/*")
    files = registry.index_files(registry.read(clone, forge.list_releases()))
    sha = gitops.commit_to_branch(repo, forge.remote(), branch=forge.default_branch, files=files,
                                  message="registry: refresh REGISTRY.md and registry.json [skip ci]")
    return summary | {"index_commit": sha}


def _requesting_issue(repo: git.Repo, name: str) -> int | None:
    """The issue that asked for this server, from the `Factory-Issue: #N` trailer of its last spec commit."""
    import re

    message = repo.git.log("-1", "--format=%B", "--", f"specs/{name}.yaml")
    match = re.search(r"^Factory-Issue: #(\d+)\s*$", message, re.MULTILINE)
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


# -- pull request review ---------------------------------------------------------------------------
def _pr_trees(event: dict[str, Any], ctx: Context) -> tuple[Path, Path | None]:
    """The PR's head tree and its base tree (None when the base cannot be read)."""
    pr = event["pull_request"]
    base_url = pr["base"]["repo"]["clone_url"]
    head_dir, base_dir = ctx.workdir / "pr-head", ctx.workdir / "pr-base"
    for directory, url, sha in ((head_dir, pr["head"]["repo"]["clone_url"], pr["head"]["sha"]),
                                (base_dir, base_url, pr["base"]["sha"])):
        if directory.exists():
            continue
        repo = git.Repo.init(directory)
        try:
            repo.git.fetch("--depth=1", url, sha)
        except git.GitCommandError:
            if directory == base_dir:
                return head_dir, None
            raise ForgeError(f"cannot fetch the pull request's head {sha[:12]}",
                             hint="check that the head repository is readable") from None
        repo.git.checkout("--detach", "FETCH_HEAD")
    return head_dir, base_dir


def _changed_servers(head: Path, base: Path | None) -> list[str]:
    names = {p.stem for p in (head / "specs").glob("*.yaml")}
    names |= {p.name for p in (head / "servers").glob("*") if p.is_dir()}
    if base is None:
        return sorted(names)
    changed = []
    for name in sorted(names | {p.stem for p in (base / "specs").glob("*.yaml")}):
        paths = [Path("specs") / f"{name}.yaml", Path("servers") / name]
        if any(read_tree(head / p) != read_tree(base / p) or _text(head / p) != _text(base / p) for p in paths):
            changed.append(name)
    return changed


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def pr_build(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage build: for each changed server, check drift and version, validate; write review.json."""
    head, base = _pr_trees(event, ctx)
    servers, ok = [], True
    for name in _changed_servers(head, base):
        entry: dict[str, Any] = {"name": name, "version": "", "findings": [], "report": "", "ok": True}
        spec_path = head / "specs" / f"{name}.yaml"
        if not spec_path.exists():
            entry["findings"].append("spec removed: the server will not be released again (past releases stay)")
            if (head / "servers" / name).exists():
                entry.update(ok=False)
                entry["findings"].append(f"servers/{name}/ is still there: remove it with the spec")
            servers.append(entry)
            ok = ok and entry["ok"]
            continue
        try:
            spec = load_spec_file(spec_path)
        except FactoryError as exc:
            servers.append(entry | {"ok": False, "findings": [f"invalid spec: {exc.message}"]})
            ok = False
            continue
        entry["version"] = spec.version
        if spec.name != name:
            servers.append(entry | {"ok": False, "findings": [
                f"specs/{name}.yaml declares the server {spec.name!r}: a spec's file name and its name must agree "
                f"(rename the file to specs/{spec.name}.yaml, or set name: {name})"]})
            ok = False
            continue
        problems = publish.drift(spec, read_tree(head / "servers" / name))
        extra = sorted(set(read_tree(head / "servers" / name)) - set(publish.render_server(spec)))
        problems += [f"{rel}: not generated from the spec" for rel in extra]
        entry["findings"] += [f"drift: servers/{name}/{p}" for p in problems] or [
            f"servers/{name}/ matches what the spec generates"]
        previous = load_spec_file(base / "specs" / f"{name}.yaml") if base and (
            base / "specs" / f"{name}.yaml").exists() else None
        if previous is not None:
            proposal = versioning.propose(previous, spec)
            if proposal.version:
                entry["findings"].append(f"version: the spec changed but {spec.version} is not enough; "
                                         f"use {proposal.version} ({'; '.join(proposal.reasons)})")
                problems.append("version")
        result = ctx.builder(spec, ctx.workdir / "review" / name, progress=ctx.say)
        entry["checks"] = result.report.to_json()
        entry["ok"] = bool(result.ok) and not problems
        ok = ok and entry["ok"]
        servers.append(entry)
    review = {"ok": ok, "pull": event["pull_request"]["number"], "servers": servers}
    _write_json(ctx.workdir / "review.json", review)
    return review


def review_body(review: dict[str, Any]) -> str:
    from .render import md

    # review.json comes from the job that ran generated code: names, findings and checks are all escaped.
    servers = [s | {"name": md(str(s.get("name", "?")), cell=True), "version": md(str(s.get("version", "")), cell=True),
                    "findings": [md(str(f)) for f in s.get("findings", [])],
                    "report": _report_from(s) if s.get("checks") else ""} for s in review.get("servers", [])]
    return publish.render_text("review_comment.md.j2", ok=review.get("ok", False), servers=servers,
                               marker=publish.REVIEW_MARKER)


def pr_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: post or refresh the one review comment from review.json."""
    review = _read_json(ctx.workdir / "review.json")
    if not review:
        review = {"ok": False, "servers": [{"name": "?", "version": "", "report": "", "ok": False,
                                            "findings": ["the check job left no report (see the workflow run)"]}]}
    number = int(event["pull_request"]["number"])
    body = review_body(review)
    if not ctx.dry_run:
        ctx.get_forge().upsert_comment(number, publish.REVIEW_MARKER, body)
    return {"ok": review.get("ok", False), "pull": number, "comment": body if ctx.dry_run else "posted"}


def on_pr(event: dict[str, Any], ctx: Context, stage: str | None = None) -> dict[str, Any]:
    """Review a pull request: drift, version and validation; one comment; not ok fails the check."""
    if "pull_request" not in event:
        raise RequestError("the event has no pull_request", hint="run on-pr for `pull_request` events")
    if stage == "build":
        return pr_build(event, ctx)
    if stage == "publish":
        return pr_publish(event, ctx)
    review = pr_build(event, ctx)
    return pr_publish(event, ctx) | {"ok": review["ok"]}
