"""Checks the repair loop can run on a model's spec, from shallow to deep.

`typecheck` renders and compiles the server (tsc, strict) without running any of it, and has TypeScript's
parser check that every code body stays inside its function: safe where the API key is in the environment
(the GitHub parse job). `full_build` runs the whole pipeline, examples included,
which executes model-written code: only where no secret is in reach (the pipeline's sandbox drops the
environment, and the caller decides whether that is enough).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from factory_bot.build.report import Check
from factory_bot.spec.model import ServerSpec

Progress = Callable[[str], None]


def problems_of(checks: list[Check]) -> list[str]:
    """Failed checks as lines a model can act on: what failed, then the details (capped)."""
    lines: list[str] = []
    for check in checks:
        if check.ok:
            continue
        lines.append(f"{check.name}{f' ({check.tool})' if check.tool else ''}: {check.message}")
        lines += [f"  {detail}" for detail in check.details[:10]]
    return lines[:60]


def typecheck(spec: ServerSpec, *, progress: Progress | None = None) -> list[str]:
    """Problems tsc finds in the rendered server; nothing generated is executed."""
    from factory_bot.build import code_shape, static_checks, toolchain
    from factory_bot.build.render import write_server

    tools = toolchain.ensure(progress=progress)
    shape = code_shape.start(spec, tools)  # parses the bodies while tsc runs: costs no extra time
    with tempfile.TemporaryDirectory(prefix="factory-parse-check-") as tmp:
        server_dir = Path(tmp) / spec.name
        write_server(spec, server_dir)
        tools.link_into(server_dir)
        compiled = problems_of(static_checks.start_typecheck(tools, server_dir).result())
    escapes = [f"{p.field}: {p.message}" for p in shape.problems()]
    return escapes + compiled


def full_build(spec: ServerSpec, *, progress: Progress | None = None) -> list[str]:
    """Problems the whole pipeline finds: compile errors, protocol failures, examples that do not hold."""
    from factory_bot.build.pipeline import build
    from factory_bot.errors import SpecError

    with tempfile.TemporaryDirectory(prefix="factory-parse-build-") as tmp:
        try:
            return problems_of(build(spec, tmp, progress=progress).report.checks)
        except SpecError as exc:  # a body that leaves its function: refused before anything ran
            return [f"{p.field}: {p.message}" for p in exc.problems]
