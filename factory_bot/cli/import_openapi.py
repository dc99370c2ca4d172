"""`factory-bot import openapi`: an OpenAPI document → a spec YAML, with a report of what was left out."""

from __future__ import annotations

import json
from pathlib import Path

import click

from factory_bot.cli.common import json_option


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.group(name="import")
def import_group() -> None:
    """Turn an existing API description into a spec (no model call).

    \b
    Example:
      factory-bot import openapi petstore.json --out specs/petstore.yaml
    """


@import_group.command(name="openapi")
@click.argument("source", required=False)
@click.option(
    "--update",
    "update_spec",
    type=click.Path(dir_okay=False, exists=True),
    help="Re-import this spec from its `source:` (or from SOURCE), keeping its curation; writes it back.",
)
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, exists=True),
    help="With --update: the document the spec was imported from (default: its last committed version).",
)
@click.option(
    "--include", multiple=True, help="Only operations matching PATTERN (operationId, tool name, 'GET /path'; globs)."
)
@click.option("--exclude", multiple=True, help="Leave out operations matching PATTERN.")
@click.option("--tags", multiple=True, help="Only operations with one of these tags (comma-separated or repeated).")
@click.option("--methods", multiple=True, help="Only these HTTP methods, e.g. --methods GET,POST.")
@click.option("--include-deprecated", is_flag=True, help="Also import operations marked deprecated.")
@click.option("--name", help="The server's name (kebab-case); default: from the document's title.")
@click.option("--base-url", help="The API's base URL, when the document's servers are relative or missing.")
@click.option(
    "--bearer-env",
    metavar="NAME",
    help="Send 'Authorization: Bearer ${NAME}' on operations whose description declares no security.",
)
@click.option(
    "--max-tools", type=click.IntRange(1, 50), default=40, show_default=True, help="Refuse more tools than this."
)
@click.option("--allow-url", is_flag=True, help="Let SOURCE be a http(s) URL (never this machine or its network).")
@click.option("--allow-remote-refs", is_flag=True, help="Fetch remote $refs from public http(s) URLs.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the spec here instead of stdout.")
@json_option  # {spec, report} (and error when refused)
def openapi(
    source: str | None,
    update_spec: str | None,
    previous: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    tags: tuple[str, ...],
    methods: tuple[str, ...],
    include_deprecated: bool,
    name: str | None,
    base_url: str | None,
    bearer_env: str | None,
    max_tools: int,
    allow_url: bool,
    allow_remote_refs: bool,
    out: str | None,
    as_json: bool,
) -> int:
    """Import an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON) as a spec of http tools.

    One tool per operation; parameters and JSON bodies become inputs, the success reply the output, security
    schemes secret env vars. Operations the spec cannot express (multipart, XML, streaming, …) are left out and
    listed with the reason; more than --max-tools matching operations is refused with the count and how to
    narrow. Exit 0 imported, 2 refused.

    \b
    With --out, the spec records the document and the filters under `source:`; `--update SPEC` re-imports it
    (from a changed document too), keeping renames, edited titles and descriptions and dropped tools as
    overrides, and prints the tools added, changed and removed with the version bump.

    \b
    Example:
      factory-bot import openapi petstore.json --out specs/petstore.yaml
      factory-bot import openapi api.github.com.json --tags issues --include 'issues/list*' \\
        --name gh-issues --bearer-env GITHUB_TOKEN
      factory-bot import openapi --update specs/petstore.yaml
    """
    from factory_bot.importers.openapi import ImportOptions, TooManyOperations, import_openapi
    from factory_bot.importers.openapi.operations import Filters

    if update_spec:
        if include or exclude or tags or methods or name or base_url or bearer_env:
            raise click.UsageError("with --update the choices come from the spec's `source:`: edit them there")
        return _update(Path(update_spec), source, previous, out, as_json)
    if source is None:
        raise click.UsageError("give the OpenAPI document (SOURCE), or --update SPEC")

    options = ImportOptions(
        filters=Filters(
            include=include,
            exclude=exclude,
            tags=_split(tags),
            methods=_split(methods),
            include_deprecated=include_deprecated,
        ),
        name=name,
        base_url=base_url,
        bearer_env=bearer_env,
        max_tools=max_tools,
        allow_url=allow_url,
        allow_remote_refs=allow_remote_refs,
        source=_source(
            source, out, include, exclude, tags, methods, include_deprecated, base_url, bearer_env, max_tools
        ),
    )
    try:
        result = import_openapi(source, options)
    except TooManyOperations as exc:
        if as_json:
            click.echo(json.dumps({"spec": None, "report": exc.report.to_json(), "error": exc.message}, indent=2))
        raise
    text = result.text
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    if as_json:
        click.echo(json.dumps({"spec": text, "report": result.report.to_json()}, indent=2))
    elif not out:
        click.echo(text, nl=False)
    _print_report(result.report, out)
    return 0


def _source(document: str, out: str | None, include, exclude, tags, methods, deprecated, base_url, bearer_env, most):
    """`source:` for a spec written to `out`: the document relative to it and the filters (None without --out)."""
    if not out:
        return None
    from factory_bot.importers.openapi.curation import recorded

    fields = {
        "openapi": recorded(document, Path(out).parent),
        "include": list(include),
        "exclude": list(exclude),
        "tags": list(_split(tags)),
        "methods": list(_split(methods)),
        "include_deprecated": deprecated,
        "base_url": base_url,
        "bearer_env": bearer_env,
        "max_tools": most if most != 40 else None,
    }
    return {k: v for k, v in fields.items() if v}


def _update(spec: Path, document: str | None, previous: str | None, out: str | None, as_json: bool) -> int:
    from factory_bot.gitops.openapi_source import update

    result = update(spec, document, previous)
    target = Path(out) if out else spec
    target.write_text(result.text, encoding="utf-8")
    if as_json:
        click.echo(
            json.dumps(
                {"spec": result.text, "report": result.imported.report.to_json(), "kept": result.kept}
                | {"version": result.proposal.to_json()},
                indent=2,
            )
        )
    _print_report(result.imported.report, str(target))
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    for line in result.kept:
        say(f"  kept {line}")
    level = result.proposal.level
    say(
        f"· {result.spec.name} {result.proposal.previous} → {result.spec.version}"
        + (f" ({level})" if level else " (no change a caller can notice)")
    )
    for reason in result.changes:
        say(f"  {reason}")
    return 0


def _print_report(report, out: str | None) -> None:
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    say(
        f"· {report.document} (OpenAPI {report.openapi}): {report.operations} operations, {report.matched} matched, "
        f"{len(report.tools)} tools in {report.seconds:.2f} s" + (f" → {out}" if out else "")
    )
    for operation, reason in report.skipped:
        say(f"  left out {operation}: {reason}")
    for tool, note in report.notes:
        say(f"  {'every tool' if tool == '*' else tool}: {note}")


COMMANDS = [import_group]
