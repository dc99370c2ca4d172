"""Pull request review: drift, version and validation of each changed server; one review comment."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import Any

from factory_bot.build.drift import drift, read_tree
from factory_bot.errors import FactoryError, ForgeError, RequestError
from factory_bot.forge import git as gitrepo
from factory_bot.gitops import openapi_source, publish, versioning
from factory_bot.gitops.common import Context, _read_json, _report_from, _write_json
from factory_bot.spec.loader import load_spec_file


def _pr_trees(event: dict[str, Any], ctx: Context) -> tuple[Path, Path | None]:
    """The PR's head tree and its base tree (None when the base cannot be read).

    From the job's own checkout when it holds both commits (Actions checks out with full history, which also
    works for private repositories); otherwise fetched by sha from the clone URLs in the event.
    """
    pr = event["pull_request"]
    head_dir, base_dir = ctx.workdir / "pr-head", ctx.workdir / "pr-base"
    for directory, url, sha in (
        (head_dir, pr["head"]["repo"]["clone_url"], pr["head"]["sha"]),
        (base_dir, pr["base"]["repo"]["clone_url"], pr["base"]["sha"]),
    ):
        if directory.exists() or _export_from_checkout(ctx.checkout, sha, directory):
            continue
        if not gitrepo.fetch_commit(directory, url, sha):
            if directory == base_dir:
                return head_dir, None
            raise ForgeError(
                f"cannot fetch the pull request's head {sha[:12]}",
                hint="check that the head repository is readable, or check it out with "
                "fetch-depth: 0 and pass --checkout",
            ) from None
    return head_dir, base_dir


def _export_from_checkout(checkout: Path | None, sha: str, directory: Path) -> bool:
    """Write the tree of commit `sha` from a local clone into `directory`; False when the clone lacks it."""
    if checkout is None or not (checkout / ".git").exists():
        return False
    repo = gitrepo.Repo(checkout)
    if not gitrepo.has_commit(repo, sha):
        return False
    directory.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        repo.archive(archive, treeish=sha, format="tar")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(directory, filter="data")
    return True


def _changed_servers(head: Path, base: Path | None) -> list[str]:
    names = {p.stem for p in (head / "specs").glob("*.yaml")}
    names |= {p.name for p in (head / "servers").glob("*") if p.is_dir()}
    if base is None:
        return sorted(names)
    changed = []
    for name in sorted(names | {p.stem for p in (base / "specs").glob("*.yaml")}):
        paths = [Path("specs") / f"{name}.yaml", Path("servers") / name]
        paths += [
            p
            for p in (openapi_source.committed_document(head, name), openapi_source.committed_document(base, name))
            if p
        ]
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
            servers.append(
                entry
                | {
                    "ok": False,
                    "findings": [
                        f"specs/{name}.yaml declares the server {spec.name!r}: a spec's file name and its name must agree "
                        f"(rename the file to specs/{spec.name}.yaml, or set name: {name})"
                    ],
                }
            )
            ok = False
            continue
        problems = drift(spec, read_tree(head / "servers" / name))
        entry["findings"] += [f"drift: servers/{name}/{p}" for p in problems] or [
            f"servers/{name}/ matches what the spec generates"
        ]
        stale = openapi_source.stale_finding(head, name, base)
        if stale:
            entry["findings"].append(stale)
            problems.append("source")
        previous = (
            load_spec_file(base / "specs" / f"{name}.yaml")
            if base and (base / "specs" / f"{name}.yaml").exists()
            else None
        )
        if previous is not None:
            proposal = versioning.propose(previous, spec)
            if proposal.version:
                entry["findings"].append(
                    f"version: the spec changed but {spec.version} is not enough; "
                    f"use {proposal.version} ({'; '.join(proposal.reasons)})"
                )
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
    from factory_bot.text import md

    # review.json comes from the job that ran generated code: names, findings and checks are all escaped.
    servers = [
        s
        | {
            "name": md(str(s.get("name", "?")), cell=True),
            "version": md(str(s.get("version", "")), cell=True),
            "findings": [md(str(f)) for f in s.get("findings", [])],
            "report": _report_from(s) if s.get("checks") else "",
        }
        for s in review.get("servers", [])
    ]
    return publish.render_text(
        "review_comment.md.j2", ok=review.get("ok", False), servers=servers, marker=publish.REVIEW_MARKER
    )


def _failed_review(finding: str) -> dict[str, Any]:
    """A review.json that fails the PR with one finding, when the check job's own cannot be used."""
    return {"ok": False, "servers": [{"name": "?", "version": "", "report": "", "ok": False, "findings": [finding]}]}


def pr_publish(event: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Stage publish: post or refresh the one review comment from review.json."""
    review = _read_json(ctx.workdir / "review.json")
    if not review:
        review = _failed_review("the check job left no report (see the workflow run)")
    if ctx.build_result is not None and ctx.build_result != "success" and review.get("ok") is not False:
        # review.json came from the job that ran the PR's code; how that job ended did not.
        verdict = ctx.build_result if ctx.build_result in ("failure", "cancelled", "skipped") else "unknown"
        review = _failed_review(
            f"the check job ended with {verdict}, though its review.json says it passed (see the workflow run)"
        )
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
