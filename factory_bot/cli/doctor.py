"""`factory-bot doctor`: is this machine (or CI job) ready to run the bot? One row per check, never a secret.

Checks the Node toolchain (node, npm, tsc, the cache), the sandbox for generated code, the forge (token, scopes, repository permissions)
when one is configured, whether the model key is set, and the policy file. Offline, the forge rows say
"not configured" instead of failing. Any failed row makes the command exit non-zero.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from factory_bot import proc
from factory_bot.build import toolchain
from factory_bot.errors import FactoryError
from factory_bot.forge.base import Forge
from factory_bot.gitops.policy import POLICY_PATH, load_policy

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
MODEL_KEY = "ANTHROPIC_API_KEY"


@dataclass(frozen=True)
class Row:
    check: str
    status: str  # ok | warn | FAIL | skip
    detail: str


def _version(command: list[str]) -> str:
    return proc.run(command, timeout=30).stdout.strip().splitlines()[0]


def check_node() -> list[Row]:
    rows = []
    try:
        rows.append(Row("node", OK, toolchain.check_node()))
    except FactoryError as exc:
        rows.append(Row("node", FAIL, f"{exc.message} ({exc.hint})"))
    try:
        rows.append(Row("npm", OK, _version(["npm", "--version"])))
    except FactoryError as exc:
        rows.append(
            Row("npm", FAIL, f"npm does not run: {exc.message.splitlines()[0]} ({toolchain.NODE_INSTALL_HINT})")
        )
    return rows


def check_toolchain() -> list[Row]:
    root = toolchain.cache_root()
    current = root / f"toolchain-{toolchain.lock_hash()}"
    rows = []
    writable = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    rows.append(
        Row(
            "cache",
            OK if os.access(writable, os.W_OK) else FAIL,
            f"{root}" + ("" if os.access(writable, os.W_OK) else " is not writable (set FACTORY_BOT_CACHE)"),
        )
    )
    if not (current / ".complete").exists():
        rows.append(
            Row(
                "toolchain",
                WARN,
                f"not installed yet ({current.name}); the first build installs it, or run `factory-bot toolchain`",
            )
        )
        rows.append(Row("tsc", SKIP, "needs the toolchain"))
    else:
        rows.append(
            Row(
                "toolchain",
                OK,
                f"{current.name}: "
                + ", ".join(
                    f"{k} {v}"
                    for k, v in toolchain.pinned_versions().items()
                    if "typescript" in k or "sdk" in k or "server" in k
                ),
            )
        )
        verdict = toolchain.verify(full=False)
        if verdict.missing_manifest:
            rows.append(
                Row(
                    "toolchain integrity",
                    WARN,
                    "installed without a content manifest (an older "
                    "factory-bot): the next build compares it with a fresh install",
                )
            )
        else:
            rows.append(
                Row(
                    "toolchain integrity",
                    OK if verdict.ok else FAIL,
                    f"matches its install manifest ({verdict.summary()})"
                    if verdict.ok
                    else "; ".join(verdict.problems()) + ": the next build reinstalls it "
                    "(`factory-bot toolchain --verify` hashes every file)",
                )
            )
        try:
            rows.append(Row("tsc", OK, _version([*toolchain.Toolchain(current).tsc, "--version"])))
        except FactoryError as exc:
            rows.append(
                Row(
                    "tsc",
                    FAIL,
                    f"the toolchain's tsc does not run: {exc.message.splitlines()[0]}; "
                    f"remove {current} and run `factory-bot toolchain`",
                )
            )
    older = [p.name for p in root.glob("toolchain-*") if p.is_dir() and p != current and ".staging-" not in p.name]
    if older:
        rows.append(
            Row(
                "old toolchains",
                WARN,
                f"{len(older)} ({', '.join(sorted(older))}): `factory-bot cleanup --apply` removes them",
            )
        )
    return rows


def check_forge(forge: Callable[[], Forge] | None, *, token_set: bool) -> list[Row]:
    if forge is None:
        return [
            Row(
                "forge",
                SKIP,
                "not configured (set GITHUB_REPOSITORY and GITHUB_TOKEN, or pass --forge local --repo PATH)",
            )
        ]
    try:
        instance = forge()
        access = instance.access()
        branch = instance.default_branch
    except FactoryError as exc:
        return [Row("forge", FAIL, f"{exc.message} ({exc.hint})" if exc.hint else exc.message)]
    rows = [Row("forge", OK, f"{instance.kind} {instance.slug}, default branch {branch}")]
    if instance.kind == "github":
        rows.append(
            Row(
                "token",
                OK if token_set else WARN,
                "valid (the repository answered)" if token_set else "none: read-only, public data only",
            )
        )
        if access.scopes is not None:
            wanted = {"repo", "public_repo"}
            rows.append(
                Row(
                    "token scopes",
                    OK if wanted & set(access.scopes) else WARN,
                    ", ".join(access.scopes) or "none (classic token without scopes)",
                )
            )
        else:
            rows.append(Row("token scopes", OK, "fine-grained or GitHub App token: permissions are per repository"))
    can_write = access.permissions.get("push", False)
    rows.append(
        Row(
            "repository permissions",
            OK if can_write else WARN,
            ", ".join(k for k, v in access.permissions.items() if v)
            or "none" + ("" if can_write else " (push is needed to publish; a read-only token can only check)"),
        )
    )
    return rows


def check_model_key() -> Row:
    if os.environ.get(MODEL_KEY):
        return Row("model key", OK, f"{MODEL_KEY} is set (value not shown)")
    return Row(
        "model key", WARN, f"{MODEL_KEY} is not set: plain-language requests fail; spec YAML requests need no model"
    )


def check_policy(checkout: Path) -> Row:
    path = checkout / POLICY_PATH
    try:
        policy = load_policy(checkout)
    except FactoryError as exc:
        return Row("policy", FAIL, exc.message.replace("\n", " "))
    where = str(POLICY_PATH) if path.is_file() else f"no {POLICY_PATH}: defaults"
    return Row(
        "policy",
        OK,
        f"{where} (requesters: {policy.requesters.permission} access, "
        f"{policy.rate_limit.requests} requests per {policy.rate_limit.hours} h)",
    )


def check_sandbox() -> Row:
    from factory_bot.build import sandbox

    found = sandbox.status()
    if found.ok:
        return Row(
            "sandbox",
            OK,
            f"{found.backend}, {found.startup * 1000:.0f} ms per launch (`factory-bot sandbox` proves what it denies)",
        )
    return Row(
        "sandbox",
        WARN,
        f"none: {found.reason}; until fixed, on-issue/on-pr/on-push and build --request "
        "refuse to run others' code, and your own specs build unconfined",
    )


def run(*, checkout: Path, forge: Callable[[], Forge] | None, token_set: bool) -> list[Row]:
    """Every check, in the order a person fixes things."""
    rows = [
        Row(
            "python",
            OK if sys.version_info >= (3, 11) else FAIL,
            f"{platform.python_version()} ({shutil.which('python3') or sys.executable})",
        )
    ]
    rows += check_node() + check_toolchain()
    rows.append(check_sandbox())
    rows += check_forge(forge, token_set=token_set)
    rows.append(check_model_key())
    rows.append(check_policy(checkout))
    return rows


def table(rows: list[Row]) -> str:
    width = max(len(r.check) for r in rows)
    return "\n".join(f"{r.status:<4}  {r.check:<{width}}  {r.detail}" for r in rows)


def to_json(rows: list[Row]) -> str:
    return json.dumps({"ok": ok(rows), "checks": [asdict(r) for r in rows]}, indent=2)


def ok(rows: list[Row]) -> bool:
    return all(r.status != FAIL for r in rows)


def exit_code(rows: list[Row]) -> int:
    """0 when nothing failed; 3 (the environment) when node or npm is missing, as every verb exits then; else 1."""
    if any(r.check in ("node", "npm") and r.status == FAIL for r in rows):
        return 3
    return 0 if ok(rows) else 1
