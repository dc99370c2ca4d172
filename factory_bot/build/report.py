"""The validation report: each check's pass/fail, duration and readable message; JSON and Markdown views."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

# A name shown as code in the table as it is (what the spec allows a tool name); anything else is escaped. Not
# the spec's own TOOL_NAME: the report, read by every job's summary step, loads no spec model (~0.2 s a process).
_PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class Check:
    """One validation check's outcome."""

    name: str
    ok: bool
    seconds: float
    message: str
    tool: str | None = None
    details: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(c) | {"seconds": round(c.seconds, 3)} for c in self.checks]

    def to_markdown(self) -> str:
        """A Markdown table of the checks. Every message is escaped (no markup, links or mentions get through),
        since a report may have passed through a job where generated code ran."""
        from factory_bot.text import md

        rows = ["| Check | Result | Time | Details |", "| --- | --- | --- | --- |"]
        for c in self.checks:
            tool = f"`{c.tool}`" if c.tool and _PLAIN_NAME.match(c.tool) else md(c.tool or "", cell=True)
            name = md(c.name, cell=True) + (f" ({tool})" if c.tool else "")
            detail = "<br>".join(md(text[:500], cell=True) for text in [c.message, *c.details[:10]] if text)
            rows.append(f"| {name} | {'✅ pass' if c.ok else '❌ fail'} | {c.seconds:.2f} s | {detail} |")
        return "\n".join(rows)

    @classmethod
    def from_json(cls, checks: list[dict[str, Any]]) -> ValidationReport:
        return cls(
            [
                Check(
                    str(c["name"]),
                    bool(c["ok"]),
                    float(c["seconds"]),
                    str(c.get("message", "")),
                    c.get("tool"),
                    [str(d) for d in c.get("details", [])],
                )
                for c in checks
            ]
        )


@contextmanager
def timed(name: str, *, tool: str | None = None) -> Iterator[dict[str, Any]]:
    """Collects a check's outcome: the body sets `ok`, `message` and `details` on the yielded dict."""
    state: dict[str, Any] = {"ok": True, "message": "", "details": [], "start": time.monotonic()}
    yield state
    state["check"] = Check(
        name, state["ok"], time.monotonic() - state["start"], state["message"], tool, state["details"]
    )
