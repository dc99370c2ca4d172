"""The `factory-bot` command line: one function per verb; errors become exit codes only here.

Exit codes: 0 success, 1 the server was built but failed validation, 2 bad input (spec, request, usage),
3 the environment failed (node, npm, network, forge).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import click

from factory_bot import __version__
from factory_bot.errors import FactoryError, SpecError, ToolchainError

EXIT_INVALID = 1


def _progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            click.echo(f"· {message}", err=True)
    return say


def _print_summary(result) -> None:
    from factory_bot.build.pipeline import BuildResult

    assert isinstance(result, BuildResult)
    width = max(len(c.name) + (len(c.tool) + 3 if c.tool else 0) for c in result.report.checks)
    for check in result.report.checks:
        label = check.name + (f" ({check.tool})" if check.tool else "")
        mark = click.style("pass", fg="green") if check.ok else click.style("FAIL", fg="red", bold=True)
        click.echo(f"  {mark}  {label:<{width}}  {check.seconds:5.2f} s  {check.message}")
        for detail in check.details[:20] if not check.ok else []:
            click.echo(f"          {detail}")
    stages = "  ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    click.echo(f"  timings: {stages}")
    if result.cached:
        click.echo(f"unchanged since the last build, which was verified and reused (--force rebuilds): {result.tgz}")
    elif result.ok:
        click.echo(f"built {result.tgz} (sha256 {result.sha256})")
    else:
        failed = len(result.report.failures)
        click.echo(click.style(f"{result.spec.name}: {failed} check(s) failed; nothing was packaged", fg="red"))


def _load(spec_path: str):
    from factory_bot.spec.loader import load_spec_file

    return load_spec_file(spec_path)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="factory-bot")
def cli() -> None:
    """MCP Factory: turn a spec (or a sentence) into a validated TypeScript MCP server.

    \b
    Quick start:
      factory-bot build specs/calculator.yaml --out build/
    """


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Where the server source, .tgz and build.json go.")
@click.option("--request", help="Build from a plain-language request instead of a spec file (needs Claude).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=lambda: min(os.cpu_count() or 1, 4),
              show_default="cores, at most 4", help="Servers built at once when given several specs.")
@click.option("--force", is_flag=True, help="Rebuild even when a verified build of the same inputs exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the build result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.option("--unsafe-no-sandbox", "unsafe_no_sandbox", is_flag=True,
              help="With --request: run the model's code even without a working sandbox (unconfined, as you).")
def build(specs: tuple[str, ...], out_dir: str, request: str | None, jobs: int, force: bool, as_json: bool,
          quiet: bool, unsafe_no_sandbox: bool) -> int:
    """Render, compile, validate and pack servers from SPEC files (or every *.yaml in a directory).

    Writes OUT/<name>/ (server source), OUT/<name>-<version>.tgz (+ .sha256) and OUT/<name>.build.json.
    Only what changed is rebuilt: a verified earlier build of the same spec, templates and toolchain is
    reused (--force rebuilds). Exits 0 when every server is built and valid, 1 when validation failed,
    2 on a bad spec. Generated code runs in a sandbox (`factory-bot sandbox` checks it); without one your own
    specs still build, with a warning, and --request refuses (exit 3) unless --unsafe-no-sandbox is given.

    \b
    Example:
      factory-bot build specs/calculator.yaml --out build/
      factory-bot build specs/ --out build/ --jobs 2
      factory-bot build --request "a server that converts Celsius and Fahrenheit" --out build/
    """
    from factory_bot.build.pipeline import build_many, prewarm_client

    say = _progress(quiet or as_json)
    if bool(specs) == (request is not None):
        raise click.UsageError("give a SPEC file or --request TEXT (one of them)")
    if request is not None:
        from factory_bot.build import sandbox
        from factory_bot.parse import parse_request

        sandbox.require(unsafe=unsafe_no_sandbox, what="`build --request`")
        from factory_bot.build.repair_checks import typecheck
        from factory_bot.spec.loader import dump_spec

        say("parse: asking Claude for a spec (its code is type-checked, not run, while the key is in reach)")
        parsed = parse_request(request, check=lambda candidate: typecheck(candidate, progress=say)).spec
        spec_file = Path(out_dir) / f"{parsed.name}.spec.yaml"
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(dump_spec(parsed))
        say(f"parse: wrote {spec_file}; review its model-written code before you publish the server")
        server_specs = [parsed]
    else:
        server_specs = _load_all(specs)
    prewarm_client()
    results = build_many(server_specs, out_dir, jobs=jobs, progress=say, use_cache=not force)
    if as_json:
        payload = results[0].to_json() if len(results) == 1 else {
            "ok": all(r.ok for r in results), "builds": [r.to_json() for r in results]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif len(results) == 1:
        _print_summary(results[0])
        if not quiet:
            click.echo(f"report: {Path(out_dir) / (results[0].spec.name + '.build.json')}", err=True)
    else:
        for result in results:
            state = "cached" if result.cached else ("ok" if result.ok else "FAILED")
            total = sum(result.timings.values()) if result.cached else result.timings.get("total", 0.0)
            click.echo(f"  {state:<7} {result.spec.name} {result.spec.version}  {total:5.2f} s"
                       + ("" if result.ok else f"  ({len(result.report.failures)} check(s) failed)"))
        built_now = sum(1 for r in results if not r.cached)
        click.echo(f"{len(results)} servers: {built_now} built, {len(results) - built_now} reused")
    return 0 if all(r.ok for r in results) else EXIT_INVALID


def _load_all(paths: tuple[str, ...]):
    """Specs from files and directories (every *.yaml inside), all validated before anything is built."""
    from factory_bot.errors import SpecError

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise FactoryError(f"no *.yaml specs in {', '.join(paths)}", hint="specs are YAML files such as specs/calculator.yaml")
    loaded, problems = [], []
    for file in files:
        try:
            loaded.append(_load(str(file)))
        except SpecError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecError([dataclasses.replace(p, source=exc.source) for exc in problems for p in exc.problems])
    return loaded


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False),
              help="The server source goes to OUT/<name>/.")
def render(spec: str, out_dir: str) -> int:
    """Render the TypeScript source of a server from SPEC, without building it.

    \b
    Example:
      factory-bot render specs/calculator.yaml --out servers/
    """
    from factory_bot.build.render import write_server

    server_spec = _load(spec)
    files = write_server(server_spec, Path(out_dir) / server_spec.name)
    for relative in files:
        click.echo(str(Path(out_dir) / server_spec.name / relative))
    return 0


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--server", "server_dir", type=click.Path(file_okay=False, exists=True),
              help="A committed server directory to check for drift against SPEC first.")
@click.option("--json", "as_json", is_flag=True, help="Print checks as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def validate(spec: str, server_dir: str | None, as_json: bool, quiet: bool) -> int:
    """Check that SPEC builds into a working server (nothing is kept).

    With --server DIR, also check that DIR holds exactly what SPEC renders to (no hand edits, no drift).

    \b
    Example:
      factory-bot validate specs/calculator.yaml --server servers/calculator
    """
    from factory_bot.build.drift import drift_of
    from factory_bot.build.pipeline import build as run_build

    server_spec = _load(spec)
    drift = drift_of(server_spec, Path(server_dir)) if server_dir else []
    with tempfile.TemporaryDirectory(prefix="factory-validate-") as tmp:
        result = run_build(server_spec, tmp, progress=_progress(quiet or as_json))
        ok = result.ok and not drift
        if as_json:
            click.echo(json.dumps({"ok": ok, "drift": drift, "checks": result.report.to_json()}, indent=2))
        else:
            _print_summary(result)
            for line in drift:
                click.echo(click.style(f"  drift: {line}", fg="red"))
    return 0 if ok else EXIT_INVALID


@cli.command()
@click.argument("server_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the package description as JSON.")
def package(server_dir: str, out_dir: str, as_json: bool) -> int:
    """Pack a built server directory (with dist/) into a .tgz with its sha256 and client snippets.

    \b
    Example:
      factory-bot package build/calculator --out dist/
    """
    from factory_bot.build.package import pack, write_checksum
    from factory_bot.spec.loader import validate_data

    directory = Path(server_dir)
    if not (directory / "dist" / "index.js").exists():
        raise FactoryError(f"{directory}/dist/index.js does not exist",
                           hint="build the server first: `factory-bot build SPEC`, or `npm run build` in it")
    manifest = json.loads((directory / "package.json").read_text())
    spec_stub = _spec_for_package(manifest, validate_data)
    result = pack(spec_stub, directory, Path(out_dir))
    checksum = write_checksum(result)
    if as_json:
        click.echo(json.dumps({"tgz": str(result.tgz), "sha256": result.sha256, "size": result.size,
                               "files": result.files, "snippets": result.snippets}, indent=2))
    else:
        click.echo(f"{result.tgz} ({result.size} bytes)\n{checksum}: {result.sha256}")
    return 0


def _spec_for_package(manifest: dict, validate_data):
    """Package-level facts from package.json; the snippets only need the name and env of the server."""
    spec_path = Path("specs") / f"{manifest.get('name')}.yaml"
    if spec_path.exists():
        return _load(str(spec_path))
    return validate_data({"name": manifest.get("name"), "version": manifest.get("version"),
                          "description": manifest.get("description") or "-",
                          "tools": [{"name": "placeholder", "description": "-",
                                     "implementation": {"kind": "code", "code": "return null;"}}]},
                         source="package.json")


@cli.command()
@click.option("--text", help="The request in plain language.")
@click.option("--issue-body", "issue_body", type=click.Path(dir_okay=False, exists=True),
              help="A file with an issue's markdown body: form sections, a spec YAML block, or free text.")
@click.option("--title", default="", help="The issue's title (with --issue-body).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the spec YAML to a file.")
@click.option("--model", help="Claude model id (default: $FACTORY_BOT_MODEL, else a current Sonnet).")
@click.option("--max-attempts", default=3, show_default=True, type=click.IntRange(1, 10),
              help="Answers Claude may give before parsing fails; problems go back after each.")
@click.option("--check", "depth", type=click.Choice(["none", "typecheck", "build"]), default="none",
              show_default=True, help="Also compile (typecheck) or fully build (build: runs the generated "
                                      "code and its examples) each answer, and send failures back to Claude.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary (source, attempts, usage, spec) as JSON.")
@click.option("--unsafe-no-sandbox", "unsafe_no_sandbox", is_flag=True,
              help="With --check build: run the answers' code even without a working sandbox.")
def parse(text: str | None, issue_body: str | None, title: str, out_file: str | None, model: str | None,
          max_attempts: int, depth: str, as_json: bool, unsafe_no_sandbox: bool) -> int:
    """Turn a request (plain language, an issue body, or stdin) into a valid spec YAML.

    A spec YAML in the request is used as-is; only free text goes to Claude (needs ANTHROPIC_API_KEY).

    \b
    Example:
      factory-bot parse --text "convert temperatures between C, F and K" --out specs/temperature.yaml
      factory-bot parse --issue-body issue.md --json
    """
    from factory_bot.build import repair_checks as checks
    from factory_bot.parse import parse_issue
    from factory_bot.spec.loader import dump_spec

    if text is not None and issue_body is not None:
        raise click.UsageError("give --text or --issue-body, not both")
    if issue_body is not None:
        body = Path(issue_body).read_text(encoding="utf-8")
    elif text is not None:
        body = text
    else:
        body = click.get_text_stream("stdin").read()
    if depth == "build":
        from factory_bot.build import sandbox

        sandbox.require(unsafe=unsafe_no_sandbox, what="`parse --check build`")
    check = {"none": None, "typecheck": checks.typecheck, "build": checks.full_build}[depth]
    result = parse_issue(title, body, model=model, check=check, max_attempts=max_attempts)
    spec_yaml = dump_spec(result.spec)
    if out_file:
        Path(out_file).write_text(spec_yaml, encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result.to_json() | {"spec": spec_yaml}, indent=2, ensure_ascii=False))
    elif not out_file:
        click.echo(spec_yaml, nl=False)
    return 0


@cli.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--check", "check_file", type=click.Path(dir_okay=False, exists=True),
              help="Exit 1 if this committed schema file differs from the model.")
def schema(out_file: str | None, check_file: str | None) -> int:
    """Print the JSON Schema of a spec file (for editors and for the model's structured output).

    \b
    Example:
      factory-bot schema --out specs/spec.schema.json
    """
    from factory_bot.spec.model import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if check_file:
        if Path(check_file).read_text() != text:
            raise FactoryError(f"{check_file} is out of date with the spec model",
                               hint=f"regenerate it: factory-bot schema --out {check_file}")
        return 0
    if out_file:
        Path(out_file).write_text(text)
    else:
        click.echo(text, nl=False)
    return 0


@cli.command("toolchain")
@click.option("--json", "as_json", is_flag=True, help="Print the toolchain's path, versions and check as JSON.")
@click.option("--verify", is_flag=True,
              help="Hash every file against the manifest recorded at install; exit 1 on any difference "
              "(changes nothing: a build reinstalls a changed toolchain).")
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
        root = toolchain.ensure(progress=_progress(as_json)).root
        verdict = toolchain.verify(full=False)
    info = {"path": str(root), "node": toolchain.check_node(), "packages": toolchain.pinned_versions(),
            "verified": {"ok": verdict.ok, "full": verify, "files": verdict.files, "bytes": verdict.bytes,
                         "ms": round(verdict.seconds * 1000, 1), "problems": verdict.problems(limit=50)}}
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


@cli.command("sandbox")
@click.option("--apparmor-profile", "profile", is_flag=True,
              help="Print an AppArmor profile that lets this bwrap (only) create user namespaces (Ubuntu 24.04).")
@click.option("--json", "as_json", is_flag=True, help="Print the status and every attempt as JSON.")
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
        raise sandbox.SandboxUnavailable(f"no working sandbox: {found.reason}",
                                         hint="fix it as said above; until then only your own specs build, unconfined")
    results = sandbox_check.self_test()
    if as_json:
        click.echo(json.dumps({"ok": all(d for _, d, _ in results), "backend": found.backend,
                               "startup_ms": round(found.startup * 1000, 1),
                               "attempts": [{"attempt": a, "denied": d, "outcome": o} for a, d, o in results]},
                              indent=2))
    else:
        click.echo(f"sandbox: {found.backend} ({found.bwrap}), {found.startup * 1000:.0f} ms per launch")
        width = max(len(a) for a, _, _ in results)
        for attempt, denied, outcome in results:
            mark = click.style("denied", fg="green") if denied else click.style("ALLOWED", fg="red", bold=True)
            click.echo(f"  {mark:<6}  {attempt:<{width}}  {outcome}")
    return 0 if all(d for _, d, _ in results) else EXIT_INVALID


from factory_bot.cli.flows import register as _register_git_verbs  # noqa: E402  on-issue, on-pr, on-push, registry

_register_git_verbs(cli)


def _ops_forge(kind: str, repo: str | None, token_env: str, *, need_token: bool):
    """A forge factory for doctor and cleanup, or None when no repository (or token) is configured."""
    from factory_bot import forge

    if kind == "local":
        return (lambda: forge.open("local", repo)) if repo else None
    slug = repo or os.environ.get("GITHUB_REPOSITORY")
    if not slug or (need_token and not os.environ.get(token_env)):
        return None
    return lambda: forge.open("github", slug, token_env=token_env)


_ops_options = [
    click.option("--forge", "forge_kind", type=click.Choice(["github", "local"]), default="github",
                 show_default=True, help="local: a git repository on disk (no token)."),
    click.option("--repo", help="owner/name (default $GITHUB_REPOSITORY), or PATH with --forge local."),
    click.option("--token-env", default="GITHUB_TOKEN", show_default=True,
                 help="Environment variable holding the GitHub token (never pass a token as an argument)."),
    click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
]


def _with_ops_options(fn):
    for option in reversed(_ops_options):
        fn = option(fn)
    return fn


@cli.command()
@_with_ops_options
@click.option("--checkout", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The repository checkout whose .github/mcp-factory.yml is checked.")
def doctor(forge_kind: str, repo: str | None, token_env: str, as_json: bool, checkout: str) -> int:
    """Check that this machine can run the bot: one table, exit 1 on any failure.

    Node, npm and tsc versions, the toolchain cache, the token (valid, scopes) and its repository
    permissions, whether the model key is set (never its value), and the policy file. Without a token and
    repository the forge rows say "not configured".

    \b
    Example:
      factory-bot doctor
      GITHUB_REPOSITORY=owner/servers factory-bot doctor --json
    """
    from factory_bot.cli import doctor as checks

    rows = checks.run(checkout=Path(checkout), forge=_ops_forge(forge_kind, repo, token_env, need_token=False),
                      token_set=bool(os.environ.get(token_env)))
    click.echo(checks.to_json(rows) if as_json else checks.table(rows))
    return 0 if checks.ok(rows) else 1


@cli.command()
@_with_ops_options
@click.option("--apply/--dry-run", "apply_changes", default=False, show_default=True,
              help="--apply acts; by default only the plan is printed.")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), default=24, show_default=True,
              help="Hours before a branch without a PR, a build directory or an unfinished install is stale.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def cleanup(forge_kind: str, repo: str | None, token_env: str, as_json: bool, apply_changes: bool,
            older_than: float, quiet: bool) -> int:
    """Remove stale factory/* branches, bot PRs of closed requests, old build directories and toolchains.

    Dry run by default: prints the plan. Never deletes a tag, a release, the default branch or a branch with
    commits the bot did not make. Without a token and repository only this machine is cleaned.

    \b
    Example:
      factory-bot cleanup                 # what would go
      factory-bot cleanup --apply         # on Actions: GITHUB_REPOSITORY and GITHUB_TOKEN are set
    """
    from factory_bot.gitops import cleanup as cleaning

    forge = _ops_forge(forge_kind, repo, token_env, need_token=True)
    with tempfile.TemporaryDirectory(prefix="factory-cleanup-") as tmp:
        result = cleaning.run(forge() if forge else None, Path(tmp), apply_changes=apply_changes,
                              older_than_hours=older_than, say=_progress(quiet or as_json))
    if as_json:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "text"}, indent=2))
    else:
        click.echo(("cleaned up:\n" if apply_changes else "would clean up (dry run; --apply to act):\n")
                   + result["text"])
    return 0


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--runs", type=click.IntRange(1, 50), default=5, show_default=True, help="Runs per measurement.")
@click.option("--repo", "repo_size", type=click.IntRange(0, 500), default=50, show_default=True,
              help="Size of the generated many-spec repository (0 skips it).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1,
              show_default="cores", help="Parallel builds for the repository measurement.")
@click.option("--no-cold", is_flag=True, help="Skip the cold (empty toolchain cache) builds.")
@click.option("--quick", is_flag=True, help="CI mode: 1 run, calculator only, a 4-spec repository.")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
def bench(specs: tuple[str, ...], runs: int, repo_size: int, jobs: int, no_cold: bool, quick: bool,
          as_json: bool) -> int:
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
    report = run_bench(paths, runs=runs, repo_size=repo_size, jobs=jobs, cold=not no_cold,
                       say=_progress(as_json))
    click.echo(to_json(report) if as_json else format_report(report))
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning FactoryError into a message and its exit code."""
    import atexit

    from factory_bot.build.pipeline import settle_prewarm

    atexit.register(settle_prewarm)  # an exit mid-import (bad input, Ctrl-C) must not abort the interpreter
    try:
        code = cli.main(args=argv, prog_name="factory-bot", standalone_mode=False)
    except SpecError as exc:
        _github_annotations(exc)
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(exc.exit_code)
    except FactoryError as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _github_annotations(exc: SpecError) -> None:
    """In GitHub Actions, spec problems also become file/line annotations in the PR's Files view."""
    from factory_bot.cli import actions

    if actions.in_actions():
        for line in actions.spec_annotations(exc):  # repo-relative file, or none for an issue body
            click.echo(line)
