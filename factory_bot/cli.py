"""The `factory-bot` command line: one function per verb; errors become exit codes only here.

Exit codes: 0 success, 1 the server was built but failed validation, 2 bad input (spec, request, usage),
3 the environment failed (node, npm, network, forge).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .errors import FactoryError, SpecError, SpecProblem

EXIT_INVALID = 1


def _progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            click.echo(f"· {message}", err=True)
    return say


def _print_summary(result) -> None:
    from .pipeline import BuildResult

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
    if result.ok:
        click.echo(f"built {result.tgz} (sha256 {result.sha256})")
    else:
        failed = len(result.report.failures)
        click.echo(click.style(f"{result.spec.name}: {failed} check(s) failed; nothing was packaged", fg="red"))


def _load(spec_path: str):
    from .spec_yaml import load_spec_file

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
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Where the server source, .tgz and build.json go.")
@click.option("--request", help="Build from a plain-language request instead of a spec file (needs Claude).")
@click.option("--json", "as_json", is_flag=True, help="Print the build result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def build(spec: str | None, out_dir: str, request: str | None, as_json: bool, quiet: bool) -> int:
    """Render, compile, validate and pack a server from SPEC.

    Writes OUT/<name>/ (server source), OUT/<name>-<version>.tgz (+ .sha256) and OUT/<name>.build.json.
    Exits 0 when built and valid, 1 when validation failed, 2 on a bad spec.

    \b
    Example:
      factory-bot build specs/calculator.yaml --out build/
      factory-bot build --request "a server that converts Celsius and Fahrenheit" --out build/
    """
    from .pipeline import build as run_build
    from .pipeline import write_build_json

    say = _progress(quiet or as_json)
    if (spec is None) == (request is None):
        raise click.UsageError("give a SPEC file or --request TEXT (one of them)")
    if request is not None:
        from .parse import parse_request

        say("parse: asking Claude for a spec")
        server_spec = parse_request(request).spec
    else:
        server_spec = _load(spec)
    result = run_build(server_spec, out_dir, progress=say)
    build_json = write_build_json(result, out_dir)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_summary(result)
        if not quiet:
            click.echo(f"report: {build_json}", err=True)
    return 0 if result.ok else EXIT_INVALID


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
    from .render import write_server

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
    from .pipeline import build as run_build
    from .render import render_server

    server_spec = _load(spec)
    drift: list[str] = []
    if server_dir:
        drift = drift_between(render_server(server_spec), Path(server_dir))
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


def drift_between(expected: dict[str, str], directory: Path) -> list[str]:
    """Files that differ between what the spec renders and what a directory holds."""
    problems = []
    for relative, text in expected.items():
        path = directory / relative
        if not path.exists():
            problems.append(f"{relative} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{relative} differs from what the spec renders")
    ignored = {"node_modules", "dist"}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and relative not in expected and not ignored & set(Path(relative).parts):
            problems.append(f"{relative} is not generated from the spec")
    return problems


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
    from .package import pack, write_checksum
    from .spec_yaml import validate_data

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
def parse(text: str | None, issue_body: str | None, title: str, out_file: str | None, model: str | None,
          max_attempts: int, depth: str, as_json: bool) -> int:
    """Turn a request (plain language, an issue body, or stdin) into a valid spec YAML.

    A spec YAML in the request is used as-is; only free text goes to Claude (needs ANTHROPIC_API_KEY).

    \b
    Example:
      factory-bot parse --text "convert temperatures between C, F and K" --out specs/temperature.yaml
      factory-bot parse --issue-body issue.md --json
    """
    from .parse import checks, parse_issue
    from .spec_yaml import dump_spec

    if text is not None and issue_body is not None:
        raise click.UsageError("give --text or --issue-body, not both")
    if issue_body is not None:
        body = Path(issue_body).read_text(encoding="utf-8")
    elif text is not None:
        body = text
    else:
        body = click.get_text_stream("stdin").read()
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
    from .spec import spec_json_schema

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


from .flows_cli import register as _register_git_verbs  # noqa: E402  on-issue, on-pr, on-push, registry

_register_git_verbs(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning FactoryError into a message and its exit code."""
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
    from . import actions

    if actions.in_actions():
        for line in actions.spec_annotations(exc):  # repo-relative file, or none for an issue body
            click.echo(line)
