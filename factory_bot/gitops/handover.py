"""What the stages hand each other through the workdir, as typed values: request.json (parse → publish), and the
build job's report (build.json, outcome.json), read as untrusted data by the stages that publish.

Generated code ran in the job that wrote these files, so nothing in them is taken on trust: each is
schema-checked into typed values (a sha256 is 64 lowercase hex digits, names and versions are the spec's,
checks are typed items with bounded strings), a file that does not parse is refused as forged or garbled,
and the build counts as passed only when every file says so and every check the bot runs is there and passed.
Nothing of them reaches GitHub but through `markdown()` (every string escaped) and the trusted rebuild's sha256.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationError

from factory_bot.build.report import Check, ValidationReport
from factory_bot.errors import IntegrityError
from factory_bot.spec.model import ServerSpec

SHA256 = r"^[0-9a-f]{64}$"
Text = Annotated[str, StringConstraints(max_length=4000)]
# Every check a build runs; `examples` once per tool that has examples (pipeline.CHECK_ORDER names them too).
ALWAYS_RUN = (
    "typescript",
    "bundle",
    "protocol",
    "protocol-legacy",
    "installed-bin",
    "http",
    "http-host-check",
    "dependencies",
)


class ReportedCheck(BaseModel):
    """One check as the build job reported it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{0,39}$")]
    ok: StrictBool
    seconds: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]
    message: Text = ""
    tool: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")] | None = None
    details: Annotated[list[Text], Field(max_length=100)] = []


class BuildReport(BaseModel):
    """The parts of build.json a publish stage uses; everything else in the file is ignored, never shown."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ok: StrictBool
    name: Annotated[str, StringConstraints(max_length=64)]
    version: Annotated[str, StringConstraints(max_length=64)]
    tools: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=100)]
    sha256: Annotated[str, StringConstraints(pattern=SHA256)] | None
    checks: Annotated[list[ReportedCheck], Field(max_length=1000)]

    def problems(self, spec: ServerSpec) -> list[str]:
        """Why this report does not show a passed build of exactly `spec` (empty when it does)."""
        problems = []
        if (self.name, self.version) != (spec.name, spec.version):
            problems.append(f"it is a report of another server or version, not {spec.name} {spec.version}")
        if self.tools != [t.name for t in spec.tools]:
            problems.append("its tools are not the spec's")
        if not self.ok:
            problems.append("it says the build failed")
        failed = sorted({c.name for c in self.checks if not c.ok})
        if failed:
            problems.append(f"these checks failed: {', '.join(failed)}")
        names = {c.name for c in self.checks}
        missing = [n for n in ALWAYS_RUN if n not in names]
        missing += [
            f"examples ({t.name})"
            for t in spec.tools
            if t.examples and not any(c.name == "examples" and c.tool == t.name for c in self.checks)
        ]
        if missing:
            problems.append(f"these checks are missing: {', '.join(missing)}")
        if self.sha256 is None:
            problems.append("it names no package")
        return problems

    def markdown(self) -> str:
        """The check table, every string escaped (ValidationReport.to_markdown)."""
        return ValidationReport(
            [Check(c.name, c.ok, c.seconds, c.message, c.tool, list(c.details)) for c in self.checks]
        ).to_markdown()


class Outcome(BaseModel):
    """outcome.json: how the last stage ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: StrictBool
    stage: Literal["parse", "build", "publish"]
    error: Text = ""
    hint: Text = ""
    exit_code: int | None = None


class ParsedRequest(BaseModel):
    """request.json: what the parse stage hands the publish stage (the spec itself travels as spec.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issue: int
    name: str
    version: str
    source: str = ""
    proposal: dict[str, Any] | None = None  # versioning.Proposal.to_json(), when the spec changed


def _load(path: Path, model: type[BaseModel], what: str) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except OSError:
        raise IntegrityError(
            f"the build job left no {path.name}",
            hint=f"see the build job's log; {what} is needed before anything is published",
        ) from None
    except (ValueError, ValidationError) as exc:
        raise IntegrityError(
            f"{path.name} is not a report the bot writes (forged or garbled): {_why(exc)}",
            hint="possible tampering in the build job, where generated code runs; nothing was "
            "published. Re-run the workflow and read the spec's code",
        ) from None


def _why(exc: Exception) -> str:
    """Where a file breaks the schema, never the offending value (it may be markup meant for GitHub)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False)
        parts = [f"{'.'.join(_key(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in errors[:5]]
        return "; ".join(parts) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
    return "not JSON"


def _key(part: Any) -> str:
    # A key is the file's own text too: show it only when it is a plain identifier or an index.
    return str(part) if isinstance(part, int) or re.fullmatch(r"[A-Za-z0-9_]{1,40}", str(part)) else "?"


def read_outcome(path: Path) -> Outcome:
    return _load(path, Outcome, "the stage's outcome")  # type: ignore[no-any-return]


def read_build_report(path: Path) -> BuildReport:
    return _load(path, BuildReport, "the validation report")  # type: ignore[no-any-return]


def read_request(path: Path) -> ParsedRequest | None:
    """The parse stage's request.json; None when the parse stage left none."""
    return _load(path, ParsedRequest, "the parsed request") if path.exists() else None
