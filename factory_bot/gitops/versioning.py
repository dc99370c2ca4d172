"""Semantic-version bumps proposed from what changed between two specs of the same server.

Callers of a server break when a tool disappears, an input changes type or a new input is required
(major); they gain when a tool or an optional input appears (minor); anything else is a patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from factory_bot.spec.model import ServerSpec
from factory_bot.spec.params import SEMVER, Param

Level = Literal["major", "minor", "patch"]
_ORDER: dict[str, int] = {"patch": 1, "minor": 2, "major": 3}
_TEXT_ONLY = ("description", "title")  # keys whose change never affects a caller


@dataclass(frozen=True)
class Change:
    level: Level
    reason: str


@dataclass(frozen=True)
class Proposal:
    """What the bot suggests: `version` is None when the spec's own version is already fine."""

    previous: str
    version: str | None
    level: Level | None
    changes: tuple[Change, ...]

    @property
    def reasons(self) -> list[str]:
        return [f"{c.level}: {c.reason}" for c in self.changes]

    def to_json(self) -> dict[str, Any]:
        return {"previous": self.previous, "version": self.version, "level": self.level, "reasons": self.reasons}


def parse(version: str) -> tuple[int, int, int, str]:
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    return int(match[1]), int(match[2]), int(match[3]), match[4] or ""


def key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key: a pre-release sorts before its release."""
    major, minor, patch, pre = parse(version)
    return major, minor, patch, 0 if pre else 1, pre


def bump(version: str, level: Level) -> str:
    major, minor, patch, pre = parse(version)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch if pre else patch + 1}"  # 1.2.0-rc.1 → 1.2.0


def _strip_text(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_text(v) for k, v in schema.items() if k not in _TEXT_ONLY}
    if isinstance(schema, list):
        return [_strip_text(v) for v in schema]
    return schema


def _param_changes(tool: str, name: str, old: Param, new: Param) -> list[Change]:
    where = f"tool {tool}, input {name}"
    if old.type != new.type:
        return [Change("major", f"{where} changed type {old.type} → {new.type}")]
    if old.optional and not new.optional:
        return [Change("major", f"{where} is now required")]
    if _strip_text(old.json_schema()) != _strip_text(new.json_schema()):
        return [Change("major", f"{where} accepts different values")]
    if old != new:
        return [Change("patch", f"{where} description changed")]
    return []


def diff(old: ServerSpec, new: ServerSpec) -> list[Change]:
    """Every change from `old` to `new` that a caller could notice, each with its bump level."""
    changes: list[Change] = []
    old_tools = {t.name: t for t in old.tools}
    new_tools = {t.name: t for t in new.tools}
    changes += [Change("major", f"tool {n} removed") for n in old_tools if n not in new_tools]
    changes += [Change("minor", f"tool {n} added") for n in new_tools if n not in old_tools]
    for name in old_tools.keys() & new_tools.keys():
        before, after = old_tools[name], new_tools[name]
        for param in before.input.keys() - after.input.keys():
            changes.append(Change("major", f"tool {name}, input {param} removed"))
        for param in after.input.keys() - before.input.keys():
            required = not after.input[param].optional
            changes.append(
                Change(
                    "major" if required else "minor",
                    f"tool {name}, new {'required' if required else 'optional'} input {param}",
                )
            )
        for param in before.input.keys() & after.input.keys():
            changes += _param_changes(name, param, before.input[param], after.input[param])
        if (before.inputSchema or after.inputSchema) and _strip_text(before.input_schema()) != _strip_text(
            after.input_schema()
        ):  # a verbatim schema's change may refuse calls it admitted: nothing finer can tell
            changes.append(Change("major", f"tool {name} accepts different arguments (inputSchema)"))
        if _strip_text(before.output_schema()) != _strip_text(after.output_schema()):
            changes.append(Change("major", f"tool {name} returns a different output"))
        elif before.model_dump(exclude={"input"}) != after.model_dump(exclude={"input"}):
            changes.append(Change("patch", f"tool {name} changed (text, implementation or examples)"))
    old_required = {e.name for e in old.env if e.required}
    for env in new.env:
        if env.required and env.name not in old_required:
            changes.append(Change("major", f"environment variable {env.name} is now required"))
    if old.npm_package != new.npm_package:  # users of the old name get no update: a new package
        changes.append(Change("major", f"npm package renamed from {old.npm_package} to {new.npm_package}"))
    if not changes and old.model_dump(exclude={"version"}) != new.model_dump(exclude={"version"}):
        changes.append(Change("patch", "description or environment text changed"))
    return sorted(changes, key=lambda c: (-_ORDER[c.level], c.reason))


def propose(old: ServerSpec, new: ServerSpec) -> Proposal:
    """The version `new` should carry, given the released `old`: None when its own version suffices."""
    changes = tuple(diff(old, new))
    if not changes:
        return Proposal(old.version, None, None, ())
    level: Level = changes[0].level  # sorted most severe first
    needed = bump(old.version, level)
    if key(new.version) >= key(needed):
        return Proposal(old.version, None, level, changes)
    return Proposal(old.version, needed, level, changes)
