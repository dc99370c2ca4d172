"""What every verb shares: progress lines, the build summary, loading a spec, the exit code of a failed check."""

from __future__ import annotations

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
