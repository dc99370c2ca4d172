"""The fake GitHub cannot drift from GitHub: every answer it gives in the stories matches the response
schema of its operation in GitHub's own OpenAPI description (npm @octokit/openapi).

The description is installed with npm into the cache (`.ci/run` does the same ahead of time):
  npm install --no-audit --no-fund --no-save --prefix "$FACTORY_BOT_CACHE/octokit-openapi" @octokit/openapi@23.0.2
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import git
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from factory_bot import gitops as flows
from factory_bot.errors import ForgeError
from factory_bot.forge.github import GitHubForge
from factory_bot.forge.github_retry import default_retry
from tests.fakes.git_repos import merge_branch, seed_bare_repo
from tests.fakes.github_api import Exchange, FakeGitHub

OPENAPI_VERSION = "23.0.2"
SPECS = Path(__file__).resolve().parent.parent / "specs"


def openapi_file() -> Path:
    """GitHub's description, installed from npm on first use (the registry is reachable here and in CI)."""
    cache = Path(os.environ.get("FACTORY_BOT_CACHE", Path.home() / ".cache" / "mcp-factory")) / "octokit-openapi"
    target = cache / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
                str(cache),
                f"@octokit/openapi@{OPENAPI_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return target


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes an explicit null alternative."""
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "examples")}
    if node.get("nullable") is True:
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@lru_cache(maxsize=1)
def description() -> tuple[dict[str, Any], Registry]:
    document = _json_schema(json.loads(openapi_file().read_text(encoding="utf-8")))
    return document, Registry().with_resource("urn:github", DRAFT202012.create_resource(document))


def operation_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema GitHub documents for this response, or None when it documents no body."""
    document, _ = description()
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            responses = operations[method.lower()]["responses"]
            assert str(status) in responses, f"GitHub never answers {method} {template} with {status}"
            response = responses[str(status)]
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            content = (response.get("content") or {}).get("application/json")
            return content["schema"] if content else None
    raise AssertionError(f"{method} {path} is not an operation of GitHub's REST API")


def check(exchange: Exchange) -> None:
    schema = operation_schema(exchange.method, exchange.path, exchange.status)
    if schema is None:
        assert exchange.body in (None, "") or exchange.status == 302, f"{exchange.method} {exchange.path}"
        return
    _, registry = description()
    validator = jsonschema.Draft202012Validator(_rebase(schema), registry=registry)
    errors = sorted(validator.iter_errors(exchange.body), key=lambda e: list(e.absolute_path))
    assert not errors, (
        f"{exchange.method} {exchange.path} → {exchange.status}: "
        f"{'/'.join(map(str, errors[0].absolute_path))}: {errors[0].message}"
    )


def _rebase(node: Any) -> Any:
    """Point local `#/components/...` references at the registered description."""
    if isinstance(node, dict):
        return {
            k: ("urn:github" + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def copying_builder(results: Callable[[str], Any]) -> Callable[..., Any]:
    """A builder that hands out one real build of each example spec (the stories here are about the API)."""

    def build(spec: Any, out_dir: Path, *, progress: Any = None) -> Any:
        result = results(spec.name)
        assert result.spec == spec, "this test only builds the example specs as they are"
        out_dir.mkdir(parents=True, exist_ok=True)
        server_dir = out_dir / spec.name
        shutil.copytree(result.server_dir, server_dir, symlinks=True, dirs_exist_ok=True)
        tgz = out_dir / result.tgz.name
        shutil.copyfile(result.tgz, tgz)
        return dataclasses.replace(result, server_dir=server_dir, package=dataclasses.replace(result.package, tgz=tgz))

    return build


@pytest.mark.e2e
def test_every_answer_of_the_fake_in_the_stories_matches_githubs_openapi(tmp_path: Path, built: Any) -> None:
    with FakeGitHub(seed_bare_repo(tmp_path / "origin.git")) as github:

        def context(name: str) -> flows.Context:
            forge = lambda: GitHubForge(  # noqa: E731
                github.slug, token="t", base_url=github.url, retry=default_retry(backoff=0)
            )
            return flows.Context(workdir=tmp_path / name, forge=forge, builder=copying_builder(built))

        spec_text = (SPECS / "calculator.yaml").read_text()
        issue = github.open_issue("Calculator", f"```yaml\n{spec_text}```\n")
        opened = flows.on_issue(github.issue_event(issue["number"]), context("issue"))
        flows.on_issue(github.issue_event(issue["number"], "edited"), context("issue-again"))
        forge = context("x").get_forge()
        forge.update_pull(opened["pull"], title="MCP server calculator 1.0.0", body="edited by hand")
        forge.create_pull(head="factory/calculator", base="main", title="again", body="again")  # 422 → update
        head = merge_branch(github.bare, "factory/calculator")
        github.fail("POST", r"/assets$", status=502, times=20)
        with pytest.raises(ForgeError):
            flows.on_push(github.push_event(head), context("push-1"))
        github.faults.clear()
        flows.on_push(github.push_event(head), context("push-2"))
        flows.on_push(github.push_event(head), context("push-3"))
        release = forge.get_release("calculator-v1.0.0")
        assert release is not None and forge.download_asset(release.assets[0])
        assert forge.get_release("calculator-v9.9.9") is None
        forge.create_release(tag="calculator-v1.0.0", name="again", body="again")  # 422 already_exists → done
        pr_event = github.pr_event(opened["pull"], head, git.Repo(github.bare).commit(head).parents[0].hexsha)
        flows.on_pr(pr_event, context("review"))
        flows.on_pr(pr_event, context("review-again"))

    statuses = {(e.method, e.status) for e in github.exchanges}
    assert {("POST", 422), ("GET", 404), ("PATCH", 200), ("PUT", 200), ("POST", 201)} <= statuses
    for exchange in github.exchanges:
        check(exchange)


def test_a_call_the_token_may_not_make_gets_githubs_documented_403(tmp_path: Path) -> None:
    with FakeGitHub(seed_bare_repo(tmp_path / "origin.git"), private=True) as github:
        issue = github.open_issue("A request", "body")["number"]
        github.grant("ghs_reader", {"metadata": "read", "issues": "read"})
        forge = GitHubForge(github.slug, token="ghs_reader", base_url=github.url, retry=default_retry(backoff=0))
        with pytest.raises(ForgeError, match="403 Resource not accessible by integration"):
            forge.create_comment(issue, "hello")
    [refusal] = [e for e in github.exchanges if e.status == 403]
    check(refusal)  # POST /repos/{owner}/{repo}/issues/{number}/comments documents its 403 (basic-error)
    assert refusal.body["status"] == "403"
