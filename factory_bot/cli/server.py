"""The verbs from a spec to a server: build, render, validate, package; parse (a request → a spec) and schema."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import click

from factory_bot.cli import common
from factory_bot.cli.common import EXIT_INVALID, load_spec, print_summary, progress
from factory_bot.errors import FactoryError, SpecError


@click.command()
@click.argument("specs", nargs=-1, type=click.Path())
@common.out_dir_option("Where the server source, .tgz and build.json go.")
@click.option("--request", help="Build from a plain-language request instead of a spec file (needs Claude).")
@common.jobs_option
@click.option("--force", is_flag=True, help="Rebuild even when a verified build of the same inputs exists.")
@common.json_option
@common.quiet_option
@common.unsafe_no_sandbox_option
def build(
    specs: tuple[str, ...],
    out_dir: str,
    request: str | None,
    jobs: int,
    force: bool,
    as_json: bool,
    quiet: bool,
    unsafe_no_sandbox: bool,
) -> int:
    """Render, compile, validate and pack servers from SPEC files (or every *.yaml in a directory).

    Writes OUT/<name>/ (server source), OUT/<name>-<version>.tgz (+ .sha256) and OUT/<name>.build.json.
    Only what changed is rebuilt: a verified earlier build of the same spec, templates and toolchain is
    reused (--force rebuilds). Exits 0 when every server is built and valid, 1 when validation failed,
    2 on a bad spec, 3 when the environment fails (node or npm missing, no network for the first toolchain
    install). Generated code runs in a sandbox (`factory-bot sandbox` checks it); without one your own
    specs still build, with a warning, and --request refuses (exit 3) unless --unsafe-no-sandbox is given.

    \b
    Example:
      factory-bot build specs/calculator.yaml --out build/
      factory-bot build specs/ --out build/ --jobs 2
      factory-bot build --request "a server that converts Celsius and Fahrenheit" --out build/
    """
    from factory_bot.build.pipeline import build_many

    say = progress(quiet or as_json)
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
    results = build_many(server_specs, out_dir, jobs=jobs, progress=say, use_cache=not force)
    if as_json:
        payload = (
            results[0].to_json()
            if len(results) == 1
            else {"ok": all(r.ok for r in results), "builds": [r.to_json() for r in results]}
        )
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif len(results) == 1:
        print_summary(results[0])
        if not quiet:
            click.echo(f"report: {Path(out_dir) / (results[0].spec.name + '.build.json')}", err=True)
    else:
        for result in results:
            state = "cached" if result.cached else ("ok" if result.ok else "FAILED")
            total = sum(result.timings.values()) if result.cached else result.timings.get("total", 0.0)
            click.echo(
                f"  {state:<7} {result.spec.name} {result.spec.version}  {total:5.2f} s"
                + ("" if result.ok else f"  ({len(result.report.failures)} check(s) failed)")
            )
        built_now = sum(1 for r in results if not r.cached)
        click.echo(f"{len(results)} servers: {built_now} built, {len(results) - built_now} reused")
    return 0 if all(r.ok for r in results) else EXIT_INVALID


def _load_all(paths: tuple[str, ...]):
    """Specs from files and directories (every *.yaml inside), all validated before anything is built."""

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise FactoryError(
            f"no *.yaml specs in {', '.join(paths)}", hint="specs are YAML files such as specs/calculator.yaml"
        )
    loaded, problems = [], []
    for file in files:
        try:
            loaded.append(load_spec(str(file)))
        except SpecError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecError([dataclasses.replace(p, source=exc.source) for exc in problems for p in exc.problems])
    return loaded


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@common.out_dir_option("The server source goes to OUT/<name>/.")
def render(spec: str, out_dir: str) -> int:
    """Render the TypeScript source of a server from SPEC, without building it.

    \b
    Example:
      factory-bot render specs/calculator.yaml --out servers/
    """
    from factory_bot.build.render import write_server

    server_spec = load_spec(spec)
    files = write_server(server_spec, Path(out_dir) / server_spec.name)
    for relative in files:
        click.echo(str(Path(out_dir) / server_spec.name / relative))
    return 0


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--server",
    "server_dir",
    type=click.Path(file_okay=False, exists=True),
    help="A committed server directory to check for drift against SPEC first.",
)
@common.json_option
@common.quiet_option
def validate(spec: str, server_dir: str | None, as_json: bool, quiet: bool) -> int:
    """Check that SPEC builds into a working server (nothing is kept).

    With --server DIR, also check that DIR holds exactly what SPEC renders to (no hand edits, no drift).

    \b
    Example:
      factory-bot validate specs/calculator.yaml --server servers/calculator
    """
    from factory_bot.build.drift import drift_of
    from factory_bot.build.pipeline import build as run_build

    server_spec = load_spec(spec)
    drift = drift_of(server_spec, Path(server_dir)) if server_dir else []
    with tempfile.TemporaryDirectory(prefix="factory-validate-") as tmp:
        result = run_build(server_spec, tmp, progress=progress(quiet or as_json))
        ok = result.ok and not drift
        if as_json:
            click.echo(json.dumps({"ok": ok, "drift": drift, "checks": result.report.to_json()}, indent=2))
        else:
            print_summary(result, kept=False)
            for line in drift:
                click.echo(click.style(f"  drift: {line}", fg="red"))
    return 0 if ok else EXIT_INVALID


@click.command()
@click.argument("server_dir", type=click.Path(file_okay=False, exists=True))
@common.out_dir_option("Where the .tgz, its .sha256 and the client snippets go.")
@common.json_option
def package(server_dir: str, out_dir: str, as_json: bool) -> int:
    """Pack a built server directory (with dist/) into a .tgz with its sha256 and client snippets.

    \b
    Example:
      factory-bot package build/calculator --out dist/
    """
    from factory_bot.build.package import pack, write_checksum
    from factory_bot.build.toolchain import require_node
    from factory_bot.spec.loader import validate_data

    require_node()  # npm packs a tree that build/packlist.py has no rule for
    directory = Path(server_dir)
    if not (directory / "dist" / "index.js").exists():
        raise FactoryError(
            f"{directory}/dist/index.js does not exist",
            hint="build the server first: `factory-bot build SPEC`, or `npm run build` in it",
        )
    manifest = json.loads((directory / "package.json").read_text())
    spec_stub = _spec_for_package(manifest, validate_data)
    result = pack(spec_stub, directory, Path(out_dir))
    checksum = write_checksum(result)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tgz": str(result.tgz),
                    "sha256": result.sha256,
                    "size": result.size,
                    "files": result.files,
                    "snippets": result.snippets,
                },
                indent=2,
            )
        )
    else:
        click.echo(f"{result.tgz} ({result.size} bytes)\n{checksum}: {result.sha256}")
    return 0


def _spec_for_package(manifest: dict, validate_data):
    """Package-level facts from package.json; the snippets only need the name and env of the server."""
    package = str(manifest.get("name") or "")
    bins = manifest.get("bin")
    # The server's name is its command (`bin`), which a scoped npm name (@owner/name) does not spell.
    name = next(iter(bins)) if isinstance(bins, dict) and len(bins) == 1 else package.rpartition("/")[2]
    spec_path = Path("specs") / f"{name}.yaml"
    if spec_path.exists():
        return load_spec(str(spec_path))
    return validate_data(
        {
            "name": name,
            "package": package if package != name else None,
            "version": manifest.get("version"),
            "description": manifest.get("description") or "-",
            "tools": [
                {"name": "placeholder", "description": "-", "implementation": {"kind": "code", "code": "return null;"}}
            ],
        },
        source="package.json",
    )


@click.command()
@click.option("--text", help="The request in plain language.")
@click.option(
    "--issue-body",
    "issue_body",
    type=click.Path(dir_okay=False, exists=True),
    help="A file with an issue's markdown body: form sections, a spec YAML block, or free text.",
)
@click.option("--title", default="", help="The issue's title (with --issue-body).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the spec YAML to a file.")
@click.option("--model", help="Claude model id (default: $FACTORY_BOT_MODEL, else a current Sonnet).")
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Answers Claude may give before parsing fails; problems go back after each.",
)
@click.option(
    "--check",
    "depth",
    type=click.Choice(["none", "typecheck", "build"]),
    default="none",
    show_default=True,
    help="Also compile (typecheck) or fully build (build: runs the generated "
    "code and its examples) each answer, and send failures back to Claude.",
)
@common.json_option
@common.unsafe_no_sandbox_option
def parse(
    text: str | None,
    issue_body: str | None,
    title: str,
    out_file: str | None,
    model: str | None,
    max_attempts: int,
    depth: str,
    as_json: bool,
    unsafe_no_sandbox: bool,
) -> int:
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
    from factory_bot.gitops.openapi_request import import_requested

    def openapi(document: str, operations: str, name: str | None):  # a form naming a document in this checkout
        return import_requested(document, operations, name, Path.cwd())

    result = parse_issue(title, body, model=model, check=check, max_attempts=max_attempts, openapi=openapi)
    spec_yaml = dump_spec(result.spec)
    if out_file:
        Path(out_file).write_text(spec_yaml, encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result.to_json() | {"spec": spec_yaml}, indent=2, ensure_ascii=False))
    elif not out_file:
        click.echo(spec_yaml, nl=False)
    return 0


@click.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Exit 1 if this committed schema file differs from the model.",
)
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
            raise FactoryError(
                f"{check_file} is out of date with the spec model",
                hint=f"regenerate it: factory-bot schema --out {check_file}",
            )
        return 0
    if out_file:
        Path(out_file).write_text(text)
    else:
        click.echo(text, nl=False)
    return 0


COMMANDS = [build, render, validate, package, parse, schema]
