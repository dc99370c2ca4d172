"""The `factory-bot` command line: one function per verb; errors become exit codes only here.

Exit codes: 0 success, 1 the server was built but failed validation, 2 bad input (spec, request, usage),
3 the environment failed (node, npm, network, forge).
"""

from __future__ import annotations

import sys

import click

from factory_bot import __version__
from factory_bot.cli import flows, import_openapi, ops, server
from factory_bot.errors import FactoryError, SpecError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="factory-bot")
def cli() -> None:
    """MCP Factory: turn a spec (or a sentence) into a validated TypeScript MCP server.

    \b
    Quick start:
      factory-bot build specs/calculator.yaml --out build/
    """


for _command in (*server.COMMANDS, *ops.COMMANDS, *flows.COMMANDS, *import_openapi.COMMANDS):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning FactoryError into a message and its exit code."""
    import atexit

    atexit.register(_settle_prewarm)  # an exit mid-import (bad input, Ctrl-C) must not abort the interpreter
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


def _settle_prewarm() -> None:
    """Let the build's background import of the MCP client finish, when a build started one (a verb that builds
    nothing never loads the pipeline for this)."""
    pipeline = sys.modules.get("factory_bot.build.pipeline")
    if pipeline is not None:
        pipeline.settle_prewarm()


def _github_annotations(exc: SpecError) -> None:
    """In GitHub Actions, spec problems also become file/line annotations in the PR's Files view."""
    from factory_bot.cli import actions

    if actions.in_actions():
        for line in actions.spec_annotations(exc):  # repo-relative file, or none for an issue body
            click.echo(line)
