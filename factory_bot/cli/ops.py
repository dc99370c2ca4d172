"""The verbs that look after the machine and the repository: toolchain, sandbox, doctor, cleanup, bench."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from factory_bot.cli import common
from factory_bot.cli.common import EXIT_INVALID, progress
from factory_bot.errors import ToolchainError


@click.command("toolchain")
@common.json_option
@click.option(
    "--verify",
    is_flag=True,
    help="Hash every file against the manifest recorded at install; exit 1 on any difference "
    "(changes nothing: a build reinstalls a changed toolchain).",
)
def toolchain_command(as_json: bool, verify: bool) -> int:
    """Install (first time), verify and show the shared Node toolchain every server is built with.

    It lives in $FACTORY_BOT_CACHE (default ~/.cache/mcp-factory), keyed by the hash of its lockfile.
    Every use checks it against the content manifest recorded right after `npm ci` (stat data, hashing
    what moved); a changed toolchain is moved aside and reinstalled, never bundled. --verify hashes
    every file instead and reports what differs.

    \b
    Example:
      factory-bot toolchain
      factory-bot toolchain --verify
    """
    from factory_bot.build import toolchain

    if verify:
        root = toolchain.cache_root() / f"toolchain-{toolchain.lock_hash()}"
        if not (root / ".complete").exists():
            raise ToolchainError(f"no toolchain is installed in {root}", hint="run `factory-bot toolchain`")
        verdict = toolchain.verify(full=True)
    else:
        root = toolchain.ensure(progress=progress(as_json)).root
        verdict = toolchain.verify(full=False)
    info = {
        "path": str(root),
        "node": toolchain.check_node(),
        "packages": toolchain.pinned_versions(),
        "verified": {
            "ok": verdict.ok,
            "full": verify,
            "files": verdict.files,
            "bytes": verdict.bytes,
            "ms": round(verdict.seconds * 1000, 1),
            "problems": verdict.problems(limit=50),
        },
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(f"toolchain: {info['path']}\nnode: {info['node']}")
        for name, version in info["packages"].items():
            click.echo(f"  {name} {version}")
        state = "ok" if verdict.ok else "CHANGED since install"
        click.echo(f"integrity: {state} ({verdict.summary()})")
        for line in verdict.problems(limit=50):
            click.echo(f"  {line}")
    return 0 if verdict.ok else 1


@click.command("sandbox")
@click.option(
    "--apparmor-profile",
    "profile",
    is_flag=True,
    help="Print an AppArmor profile that lets this bwrap (only) create user namespaces (Ubuntu 24.04).",
)
@common.json_option
def sandbox_command(profile: bool, as_json: bool) -> int:
    """Prove that generated code is sandboxed here: run what it would try, and show each attempt denied.

    Writes outside its scratch copy and to a checkout's .git/config, lists your HOME, reads /proc/1/environ,
    looks for other processes, connects to this machine's 127.0.0.1 and to the internet, starts 400
    processes, allocates 2 GiB and leaves a detached child behind. Exits 0 when every attempt is denied,
    1 when one got through, 3 when there is no working sandbox (the message says how to get one).

    \b
    Example:
      factory-bot sandbox
      factory-bot sandbox --apparmor-profile | sudo tee /etc/apparmor.d/factory-bot-bwrap
    """
    from factory_bot.build import sandbox, sandbox_check

    if profile:
        click.echo(sandbox.apparmor_profile(), nl=False)
        return 0
    found = sandbox.status()
    if not found.ok:
        raise sandbox.SandboxUnavailable(
            f"no working sandbox: {found.reason}",
            hint="fix it as said above; until then only your own specs build, unconfined",
        )
    results = sandbox_check.self_test()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": all(d for _, d, _ in results),
                    "backend": found.backend,
                    "startup_ms": round(found.startup * 1000, 1),
                    "attempts": [{"attempt": a, "denied": d, "outcome": o} for a, d, o in results],
                },
                indent=2,
            )
        )
    else:
        click.echo(f"sandbox: {found.backend} ({found.bwrap}), {found.startup * 1000:.0f} ms per launch")
        width = max(len(a) for a, _, _ in results)
        for attempt, denied, outcome in results:
            mark = click.style("denied", fg="green") if denied else click.style("ALLOWED", fg="red", bold=True)
            click.echo(f"  {mark:<6}  {attempt:<{width}}  {outcome}")
    return 0 if all(d for _, d, _ in results) else EXIT_INVALID


def _ops_forge(kind: str, repo: str | None, token_env: str, *, need_token: bool):
    """A forge factory for doctor and cleanup, or None when no repository (or token) is configured."""
    from factory_bot import forge

    if kind == "local":
        return (lambda: forge.open("local", repo)) if repo else None
    slug = repo or os.environ.get("GITHUB_REPOSITORY")
    if not slug or (need_token and not os.environ.get(token_env)):
        return None
    return lambda: forge.open("github", slug, token_env=token_env)


def _with_ops_options(fn):
    for option in reversed([common.forge_option, common.repo_option, common.token_env_option, common.json_option]):
        fn = option(fn)
    return fn


@click.command()
@_with_ops_options
@common.checkout_option
def doctor(forge_kind: str, repo: str | None, token_env: str, as_json: bool, checkout: str | None) -> int:
    """Check that this machine can run the bot: one table, exit 3 without node or npm, 1 on any other failure.

    Node, npm and tsc versions, the toolchain cache, the token (valid, scopes) and its repository
    permissions, whether the model key is set (never its value), and the policy file. Without a token and
    repository the forge rows say "not configured".

    \b
    Example:
      factory-bot doctor
      GITHUB_REPOSITORY=owner/servers factory-bot doctor --json
    """
    from factory_bot.cli import doctor as checks

    rows = checks.run(
        checkout=Path(checkout or (repo if forge_kind == "local" and repo else ".")),
        forge=_ops_forge(forge_kind, repo, token_env, need_token=False),
        token_set=bool(os.environ.get(token_env)),
    )
    click.echo(checks.to_json(rows) if as_json else checks.table(rows))
    return checks.exit_code(rows)


@click.command()
@_with_ops_options
@click.option(
    "--apply", "apply_changes", is_flag=True, help="Act on the plan (the default only prints it; --dry-run wins)."
)
@common.dry_run_option
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    default=24,
    show_default=True,
    help="Hours before a branch without a PR, a build directory or an unfinished install is stale.",
)
@common.quiet_option
def cleanup(
    forge_kind: str,
    repo: str | None,
    token_env: str,
    as_json: bool,
    apply_changes: bool,
    dry_run: bool,
    older_than: float,
    quiet: bool,
) -> int:
    """Remove stale factory/* branches, bot PRs of closed requests, old build directories and toolchains.

    Dry run by default: prints the plan. Never deletes a tag, a release, the default branch or a branch with
    commits the bot did not make. Without a token and repository only this machine is cleaned.

    \b
    Example:
      factory-bot cleanup                 # what would go
      factory-bot cleanup --apply         # on Actions: GITHUB_REPOSITORY and GITHUB_TOKEN are set
    """
    from factory_bot.gitops import cleanup as cleaning

    apply_changes = apply_changes and not dry_run  # --dry-run wins: the action adds it to `cleanup --apply`
    forge = _ops_forge(forge_kind, repo, token_env, need_token=True)
    with tempfile.TemporaryDirectory(prefix="factory-cleanup-") as tmp:
        result = cleaning.run(
            forge() if forge else None,
            Path(tmp),
            apply_changes=apply_changes,
            older_than_hours=older_than,
            say=progress(quiet or as_json),
        )
    if as_json:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "text"}, indent=2))
    else:
        click.echo(
            ("cleaned up:\n" if apply_changes else "would clean up (dry run; --apply to act):\n") + result["text"]
        )
    return 0


@click.command()
@click.argument("specs", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--runs", type=click.IntRange(1, 50), default=5, show_default=True, help="Runs per measurement.")
@click.option(
    "--repo-size",
    "repo_size",
    type=click.IntRange(0, 500),
    default=50,
    show_default=True,
    help="Size of the generated many-spec repository (0 skips it).",
)
@common.jobs_option
@click.option("--no-cold", is_flag=True, help="Skip the cold (empty toolchain cache) builds.")
@click.option("--quick", is_flag=True, help="CI mode: 1 run, calculator only, a 4-spec repository.")
@common.json_option
def bench(
    specs: tuple[str, ...], runs: int, repo_size: int, jobs: int, no_cold: bool, quick: bool, as_json: bool
) -> int:
    """Measure build time per stage (cold and warm medians) against the tools' own floor.

    Prints per-stage medians, the floor on the same generated server (direct tsc, npm pack, one MCP round
    trip), the ratio build ÷ floor, .tgz install time, a many-spec repository rebuild, peak memory, and the
    sandbox's cost (warm builds with and without it, interleaved in the same run; one launch of each).
    Numbers, not verdicts: nothing here fails on time.

    \b
    Example:
      factory-bot bench specs/calculator.yaml --runs 5
      factory-bot bench --quick
    """
    from factory_bot.cli.bench import format_report, run_bench, to_json

    paths = [Path(s) for s in specs] or [Path("specs/calculator.yaml")]
    if quick:
        runs, repo_size, paths = 1, min(repo_size, 4), paths[:1]
    report = run_bench(paths, runs=runs, repo_size=repo_size, jobs=jobs, cold=not no_cold, say=progress(as_json))
    click.echo(to_json(report) if as_json else format_report(report))
    return 0


COMMANDS = [toolchain_command, sandbox_command, doctor, cleanup, bench]
