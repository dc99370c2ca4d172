"""What every verb shares: progress lines, the build summary, loading a spec, the exit code of a failed check."""

from __future__ import annotations

import os

import click

EXIT_INVALID = 1  # the server was built but failed validation


def progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            click.echo(f"· {message}", err=True)

    return say


def print_summary(result, *, kept: bool = True) -> None:
    """The check table, the timings and one closing line; kept=False (validate) names no file it deleted."""
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
    elif result.ok and not kept:
        click.echo(f"{result.spec.name} {result.spec.version} is valid (sha256 {result.sha256}); nothing was kept")
    elif result.ok:
        click.echo(f"built {result.tgz} (sha256 {result.sha256})")
    else:
        failed = len(result.report.failures)
        click.echo(click.style(f"{result.spec.name}: {failed} check(s) failed; nothing was packaged", fg="red"))


def load_spec(spec_path: str):
    from factory_bot.spec.loader import load_spec_file

    return load_spec_file(spec_path)


# -- options several verbs share: defined once, so type, default, choices and wording agree everywhere ------------

FORGES = click.Choice(["github", "local"])


def _option(*decls: str, **attrs):
    """A reusable click option decorator."""
    return click.option(*decls, **attrs)


forge_option = _option(
    "--forge",
    "forge_kind",
    type=FORGES,
    default="github",
    show_default=True,
    help="github: the repository on GitHub (read with --token-env); local: a git repository on disk, no token.",
)
repo_option = _option(
    "--repo", help="owner/name on GitHub (default $GITHUB_REPOSITORY), or the repository's PATH with --forge local."
)
token_env_option = _option(
    "--token-env",
    default="GITHUB_TOKEN",
    show_default=True,
    help="Environment variable holding the GitHub token (never pass a token as an argument).",
)
checkout_option = _option(
    "--checkout",
    type=click.Path(file_okay=False),
    help="A checkout of the default branch to read specs/, tags and .github/mcp-factory.yml from (default: the "
    "current directory when it holds them, else the repository --repo names).",
)
workdir_option = _option(
    "--workdir",
    type=click.Path(file_okay=False),
    envvar="FACTORY_WORKDIR",
    help="Directory the stages hand to each other (default: a temporary one; $FACTORY_WORKDIR).",
)
event_option = _option(
    "--event", "event_path", type=click.Path(dir_okay=False), help="Event payload JSON (default: $GITHUB_EVENT_PATH)."
)


def out_dir_option(help: str):
    """`--out DIR` (default build/): the same option in every verb that writes a build, with its own help."""
    return _option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False), help=help)


json_option = _option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (for scripts).")
dry_run_option = _option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
quiet_option = _option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
unsafe_no_sandbox_option = _option(
    "--unsafe-no-sandbox",
    "unsafe_no_sandbox",
    is_flag=True,
    help="Run code you did not write (a request's, a model's) even without a working sandbox: unconfined, as you.",
)
jobs_option = _option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=lambda: min(os.cpu_count() or 1, 4),
    show_default="cores, at most 4",
    help="Servers built at once.",
)
