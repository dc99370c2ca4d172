"""What every flow shares: the Context, workdir files, clones of the default branch, reports."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from factory_bot.build import trusted
from factory_bot.errors import FactoryError, ForgeError, PolicyError, ValidationFailed
from factory_bot.forge import git as gitrepo
from factory_bot.forge.base import Forge
from factory_bot.gitops import handover, publish
from factory_bot.gitops import policy as policies
from factory_bot.spec.model import ServerSpec

# The trailer on a bot commit that names the issue a server was requested in.
if TYPE_CHECKING:
    from factory_bot.build.pipeline import BuildResult
    from factory_bot.parse.result import ParseResult

TRAILER = re.compile(r"^Factory-Issue: #(\d+)\s*$", re.MULTILINE)


class Builder(Protocol):
    """The build stage: `pipeline.build` (tests pass a prebuilt stand-in)."""

    def __call__(
        self, spec: ServerSpec, out_dir: Path, *, progress: Callable[[str], None] | None = None
    ) -> BuildResult: ...


class Parser(Protocol):
    """The parse stage: `parse.parse_issue` (tests pass a scripted model)."""

    def __call__(self, title: str, body: str) -> ParseResult: ...


def _default_builder(spec: ServerSpec, out_dir: Path, *, progress: Callable[[str], None] | None = None) -> BuildResult:
    from factory_bot.build.pipeline import build

    return build(spec, out_dir, progress=progress)


def _default_parser(title: str, body: str, root: Path | None = None) -> ParseResult:
    from factory_bot.gitops.openapi_request import import_requested
    from factory_bot.parse import parse_issue

    def openapi(document: str, operations: str, name: str | None) -> ParseResult:
        return import_requested(document, operations, name, root or Path())

    return parse_issue(title, body, openapi=openapi)


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
    # owner/name of the GitHub repository the specs live in: a requested spec without `repository:` gets it,
    # which scopes its npm name (@owner/name) and gives it an MCP registry name. None for the local forge.
    repository: str | None = None
    # The runner's verdict on the build job (GitHub's `needs.build.result`, passed as FACTORY_BOT_BUILD_RESULT):
    # unlike the build job's files, generated code cannot write it. None when not run by a workflow.
    build_result: str | None = None
    say: Callable[[str], None] = lambda _m: None
    _forge: Forge | None = field(default=None, repr=False)

    def parse(self, title: str, body: str) -> ParseResult:
        """The parse stage's reading; an OpenAPI document the request names is read from the checkout."""
        if self.parser is _default_parser:
            return _default_parser(title, body, root=self.checkout)
        return self.parser(title, body)

    def get_forge(self) -> Forge:
        if self._forge is None:
            if self.forge is None:
                raise ForgeError(
                    "this stage needs the forge but none was configured",
                    hint="pass --forge local --repo PATH, or set GITHUB_REPOSITORY and GITHUB_TOKEN",
                )
            self._forge = self.forge()
        return self._forge


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _failure(stage: str, exc: FactoryError) -> dict[str, Any]:
    return {"ok": False, "stage": stage, "error": exc.message, "hint": exc.hint or "", "exit_code": exc.exit_code}


def _clone_default(ctx: Context, name: str) -> Path:
    """A fresh clone of the forge's default branch under the workdir (with tags)."""
    forge = ctx.get_forge()
    dest = ctx.workdir / name
    if dest.exists():
        import shutil

        shutil.rmtree(dest)
    repo = gitrepo.clone(forge.remote(), dest, branch=forge.default_branch)
    gitrepo.fetch(repo, "+refs/tags/*:refs/tags/*")
    return dest


def _report_from(built: dict[str, Any]) -> str:
    """The validation table, rebuilt from the build's structured checks with every message escaped:
    build.json comes from the job where generated code ran, so its own Markdown is never pasted."""
    from factory_bot.build.report import ValidationReport

    try:
        return ValidationReport.from_json(built.get("checks") or []).to_markdown()
    except (KeyError, TypeError, ValueError):
        return "_The build's validation report could not be read; the Review workflow validates again._"


def _report_failure(forge: Forge, issue: int, stage: str, exc: FactoryError) -> None:
    """Say on the issue what failed and what to do; best effort, since GitHub itself may be what failed."""
    try:
        publish.report_status(forge, issue, "failed", failed_stage=stage, reason=exc.message, hint=exc.hint or "")
    except ForgeError:
        pass  # the job's log still shows the error and its hint


@dataclass(frozen=True)
class Mismatch:
    """What to say when the build job's spec.yaml is not the spec the publish job reads."""

    message: str
    hint: str


def verified_rebuild(
    ctx: Context, out: Path, spec: ServerSpec, spec_text: str, *, what: str, mismatch: Mismatch, failed_hint: str
) -> tuple[handover.BuildReport, trusted.Made, trusted.Package]:
    """The package of `spec`, rebuilt here (running nothing generated), after checking the build job's handover
    in `out`: its spec.yaml is exactly `spec_text`, and its build.json shows a passed build of exactly the bytes
    the rebuild gives. The build job's own .tgz is never read."""
    report = handover.read_build_report(out / "build.json")
    spec_file = out / "spec.yaml"
    if not spec_file.is_file() or spec_file.read_text(encoding="utf-8") != spec_text:
        raise PolicyError(mismatch.message, hint=mismatch.hint)
    problems = report.problems(spec)
    if problems:
        raise ValidationFailed(
            f"the build job's report for {what} does not show a passed build: " + "; ".join(problems), hint=failed_hint
        )
    assert report.sha256 is not None
    made = trusted.make_package(spec, ctx.workdir / "trusted" / what, progress=ctx.say)
    return report, made, trusted.compare(made, report.sha256, where=f"the build job's report for {what}")
