"""Issue → pull request: gate, parse, build and publish stages, and the whole flow in one go."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from factory_bot.build import trusted
from factory_bot.errors import FactoryError, IntegrityError, PolicyError, RequestError, ValidationFailed
from factory_bot.forge import git as gitrepo
from factory_bot.gitops import gate, handover, openapi_source, publish, versioning
from factory_bot.gitops import policy as policies
from factory_bot.gitops.common import TRAILER, Context, _clone_default, _failure, _report_failure, _write_json
from factory_bot.spec import publishing
from factory_bot.spec.loader import dump_spec, load_spec_file
from factory_bot.spec.model import ServerSpec


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
    decision = gate.decide(_policy(ctx), gate.Request.from_event(event), forge, datetime.now(UTC))
    if not ctx.dry_run:
        gate.apply(decision, forge, int(issue["number"]))
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
        too_big = gate.check_size(policy, issue.get("title") or "", issue.get("body") or "")
        if too_big:  # the gate refused it already; this stage holds no token and never trusts that it ran
            raise PolicyError(too_big.message, hint=too_big.hint)
        result = ctx.parse(issue.get("title") or "", issue.get("body") or "")
        spec: ServerSpec = result.spec
        released = _previous_spec(ctx, spec.name) if getattr(result, "source", "") == "openapi" else None
        if released is not None and ctx.checkout is not None:  # asked again from its document: curation stays
            spec = openapi_source.with_curation(spec, released, ctx.checkout)
        gate.check_spec(policy, spec)
        proposal = None
        previous = _previous_spec(ctx, spec.name)
        # A new server is published under the repository's owner and license; an existing one keeps its own.
        if previous is None:
            defaults = publishing.repository_defaults(ctx.repository, _license_file(ctx))
        else:
            defaults = publishing.published_fields(previous)
        spec = publishing.with_defaults(spec, defaults)
        if previous is not None:
            proposal = versioning.propose(previous, spec)
            if not proposal.changes and previous.version == spec.version:
                raise RequestError(
                    f"{spec.name} {spec.version} on the default branch already matches this request",
                    hint="edit the issue to change a tool; nothing to publish as it is",
                )
            if proposal.version:
                spec = spec.model_copy(update={"version": proposal.version})
    except FactoryError as exc:
        _write_json(ctx.workdir / "outcome.json", _failure("parse", exc))
        raise
    (ctx.workdir / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    request = handover.ParsedRequest(
        issue=int(issue["number"]),
        name=spec.name,
        version=spec.version,
        source=getattr(result, "source", ""),
        proposal=None if proposal is None else proposal.to_json(),
    ).model_dump(mode="json")
    _write_json(ctx.workdir / "request.json", request)
    _write_json(ctx.workdir / "outcome.json", {"ok": True, "stage": "parse"})
    return request


def _license_file(ctx: Context) -> str | None:
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"):
        path = ctx.checkout / name if ctx.checkout else None
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return None


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
        exc = ValidationFailed(
            f"the generated server failed validation: {failed}",
            hint="see the validation report; edit the issue to adjust the request",
        )
        _write_json(ctx.workdir / "outcome.json", _failure("build", exc))
        raise exc
    _write_json(ctx.workdir / "outcome.json", {"ok": True, "stage": "build"})
    return summary


def issue_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: rebuild the package from the spec (running nothing generated), compare it with the build
    job's report, push the branch, open/update the one PR.

    Reads only the workdir's data files (spec.yaml and request.json from parse, outcome.json and build.json
    from build), never the build job's server source or package: those came from where generated code ran.
    """
    issue = _issue(event)
    number = int(issue["number"])
    live = not ctx.dry_run
    try:
        outcome = handover.read_outcome(ctx.workdir / "outcome.json")
    except IntegrityError as exc:
        if not (ctx.workdir / "outcome.json").exists():  # a stage died before writing it: say so, exit 1
            return _failed(ctx, number, "build", "the earlier stage did not finish (see the workflow run)", "")
        if live:
            _report_failure(ctx.get_forge(), number, "publish", exc)
        raise
    if not outcome.ok or outcome.stage != "build":
        return _failed(
            ctx,
            number,
            outcome.stage if not outcome.ok else "build",
            outcome.error or "the earlier stage did not finish (see the workflow run)",
            outcome.hint,
        )
    if ctx.build_result is not None and ctx.build_result != "success":
        verdict = ctx.build_result if ctx.build_result in ("failure", "cancelled", "skipped") else "unknown"
        return _failed(
            ctx,
            number,
            "build",
            f"the build job ended with {verdict}, though its outcome.json says it passed",
            "see the build job's log; edit the issue or comment `/factory retry`",
        )
    spec = load_spec_file(ctx.workdir / "spec.yaml")
    try:
        report = handover.read_build_report(ctx.workdir / "build.json")
        problems = report.problems(spec)
        if problems:  # any file that says failed, or a report that does not add up, means failed
            return _failed(
                ctx,
                number,
                "build",
                "the build job's report does not show a passed build: " + "; ".join(problems),
                "see the build job's log and its validation report; edit the issue to adjust the request",
            )
        assert report.sha256 is not None
        made = trusted.make_package(spec, ctx.workdir / "trusted", progress=ctx.say)
        package = trusted.compare(made, report.sha256, where="the build job's report")
        ctx.say(f"trusted rebuild: {package.tgz.name} {package.sha256} in {made.seconds:.2f} s, as the build reported")
    except FactoryError as exc:
        if live:
            _report_failure(ctx.get_forge(), number, "publish", exc)
        raise
    request = handover.read_request(ctx.workdir / "request.json")
    proposal = (request.proposal or None) if request else None
    forge = ctx.get_forge()
    plan = publish.plan_pull(
        spec,
        base=forge.default_branch,
        report_markdown=report.markdown(),
        issue=number,
        sha256=package.sha256,
        proposal=proposal,
    )
    if ctx.dry_run:
        return {"ok": True, "dry_run": True, "plan": plan.summary(), "sha256": package.sha256}
    try:
        _check_name_free(ctx, issue, spec.name)
        pr, pushed = publish.apply_pull(plan, forge, ctx.workdir)
    except FactoryError as exc:
        _report_failure(forge, number, "publish", exc)
        raise
    publish.report_status(
        forge, number, "pr-open", name=spec.name, version=spec.version, pull_url=pr.url, pull_number=pr.number
    )
    return {
        "ok": True,
        "pull": pr.number,
        "url": pr.url,
        "branch": plan.branch,
        "pushed": pushed,
        "sha256": package.sha256,
        "rebuild_seconds": round(made.seconds, 3),
    }


def _failed(ctx: Context, number: int, stage: str, reason: str, hint: str) -> dict[str, Any]:
    """A build that did not pass: the status comment says failed, nothing is published, the job exits 1."""
    if not ctx.dry_run:
        publish.report_status(ctx.get_forge(), number, "failed", failed_stage=stage, reason=reason, hint=hint)
    return {"ok": False, "stage": stage, "error": reason}


MAINTAINERS = ("OWNER", "MEMBER", "COLLABORATOR")  # GitHub's author_association of people with write access


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
    repo = gitrepo.clone(forge.remote(), dest, branch=forge.default_branch)
    path = f"specs/{name}.yaml"
    holder = None
    if (dest / path).exists():
        added = gitrepo.log(repo, "--diff-filter=A", "--format=%H", "--", path).split()
        found = TRAILER.search(gitrepo.log(repo, "-1", "--format=%B", added[-1])) if added else None
        if found is None or int(found[1]) != number:
            holder = f"{path} was requested in #{found[1]}" if found else f"{path} was added by a maintainer"
    branch = publish.branch_for(name)
    if holder is None and gitrepo.remote_branch(repo, forge.remote(), branch):
        gitrepo.fetch(repo, f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        found = TRAILER.search(gitrepo.log(repo, "-1", "--format=%B", f"origin/{branch}"))
        if found and int(found[1]) != number:
            holder = f"{branch} is being built for #{found[1]}"
    if holder:
        raise PolicyError(
            f"the server name {name!r} belongs to another request: {holder}",
            hint="pick another name (change `name:` in this issue's spec), or ask a maintainer "
            f"to request the change to {name}",
        )


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
