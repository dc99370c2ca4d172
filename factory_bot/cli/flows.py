"""CLI verbs for the git side: on-issue, on-pr, on-push, on-reimport and registry (added to the group in app.py).

Errors stay FactoryError here; only cli.main turns them into exit codes and messages.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from factory_bot import gitops as flows
from factory_bot.build.clients import CLIENTS
from factory_bot.cli import common
from factory_bot.errors import ConfigError, ValidationFailed

if TYPE_CHECKING:
    from factory_bot.forge.base import Forge
    from factory_bot.gitops import registry

STAGES = click.Choice(["gate", "parse", "build", "publish"])


def _event(path: str | None) -> dict[str, Any]:
    path = path or os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ConfigError("no event payload", hint="pass --event FILE or set GITHUB_EVENT_PATH")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the event payload {path}: {exc}", hint="it must be the JSON GitHub sends for the event"
        ) from None


def _forge_factory(
    kind: str, repo: str | None, releases: str | None, token_env: str, event: dict[str, Any]
) -> Callable[[], Forge]:
    from factory_bot import forge

    if kind == "local":
        return lambda: forge.open("local", repo, releases=releases)
    slug = repo or os.environ.get("GITHUB_REPOSITORY") or (event.get("repository") or {}).get("full_name")
    return lambda: forge.open("github", slug, token_env=token_env)


def flow_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every event flow shares."""
    options = [
        common.event_option,
        click.option(
            "--stage",
            type=STAGES,
            help="Run one stage only: gate (on-issue: who may ask), parse, build or publish; default all. Each "
            'stage holds only what it needs (README, "Set up on GitHub"); the stages after gate need --workdir.',
        ),
        common.workdir_option,
        common.forge_option,
        common.repo_option,
        click.option("--releases", type=click.Path(file_okay=False), help="Releases folder of the local forge."),
        common.checkout_option,
        common.token_env_option,
        common.dry_run_option,
        common.json_option,
        common.quiet_option,
        common.unsafe_no_sandbox_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run(
    flow: Callable[..., dict[str, Any]],
    *,
    event_path: str | None,
    stage: str | None,
    workdir: str | None,
    forge_kind: str,
    repo: str | None,
    releases: str | None,
    checkout: str | None,
    token_env: str,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    unsafe_no_sandbox: bool,
    reads_checkout: tuple[str, ...],
) -> None:
    from factory_bot.gitops import policy as policies

    event = _event(event_path)
    if stage in (None, "build"):  # the stages that run the requester's code
        from factory_bot.build import sandbox, toolchain

        toolchain.require_node()  # before the sandbox check, whose probe needs node too: say what to install
        sandbox.require(unsafe=unsafe_no_sandbox, what=f"`{click.get_current_context().info_name}`")
    if stage and not workdir:
        raise ConfigError(f"--stage {stage} needs --workdir", hint="the stages hand files over in that directory")
    if stage == "gate" and flow is not flows.on_issue:
        raise ConfigError("--stage gate belongs to on-issue", hint="pull requests and pushes have no gate")
    # Only the stages that may hold a token talk to the forge; the build stage reads the local forge at most.
    forge = _forge_factory(forge_kind, repo, releases, token_env, event)
    if stage in ("parse", "build") and forge_kind != "local":
        forge = None  # type: ignore[assignment]
    if (
        checkout is None
        and forge_kind == "github"
        and stage in reads_checkout
        and (Path("specs").is_dir() or Path(policies.POLICY_PATH).is_file())
    ):
        checkout = "."
    say = (lambda m: None) if quiet else (lambda m: click.echo(f"· {m}", err=True))
    if stage is None and forge_kind == "github" and not dry_run:
        # Generated code runs scrubbed of every secret, but in the same job as the token: fine on a trusted
        # machine, not in CI, where the workflows split it into stages (see README, "Set up on GitHub").
        click.echo(
            "warning: all stages in one process: the build runs generated code while this process "
            f"holds ${token_env}; in CI run --stage parse|build|publish in separate jobs",
            err=True,
        )
    with tempfile.TemporaryDirectory(prefix="factory-flow-") as tmp:
        ctx = flows.Context(
            workdir=Path(workdir or tmp).resolve(),
            forge=forge,
            checkout=Path(checkout).resolve() if checkout else None,
            dry_run=dry_run,
            say=say,
            build_result=os.environ.get("FACTORY_BOT_BUILD_RESULT") or None,
            repository=(repo or os.environ.get("GITHUB_REPOSITORY") or None) if forge_kind == "github" else None,
        )
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        outcome = flow(event, ctx, stage)
    human = _human(outcome, local_repo=repo if forge_kind == "local" else None)
    click.echo(json.dumps(outcome, indent=2, sort_keys=True, default=str) if as_json or dry_run else human)
    if not outcome.get("ok", True):
        raise ValidationFailed(outcome.get("error") or "the check failed (see the report above)")


def _human(outcome: dict[str, Any], *, local_repo: str | None = None) -> str:
    if outcome.get("url"):
        text = f"pull request #{outcome['pull']}: {outcome['url']}"
        if local_repo and outcome.get("branch"):  # a local PR is a branch plus a record in the repo's git dir
            text += f"\n  see it: git -C {local_repo} log --stat HEAD..{outcome['branch']}"
        return text
    if "released" in outcome:
        return "released: " + (", ".join(outcome["released"]) or "nothing new")
    return json.dumps(outcome, indent=2, sort_keys=True, default=str)


@click.command("on-issue")
@flow_options
def on_issue(**options: Any) -> None:
    """Turn a request issue into one pull request with the spec and the generated server.

    Edits the issue's status comment and label as it goes; re-running updates the same branch and PR.

    \b
    Example (offline, with a local repository):
      factory-bot on-issue --forge local --repo ./servers-repo --event issue.json
    """
    _run(flows.on_issue, reads_checkout=("gate", "parse"), **options)


@click.command("on-pr")
@flow_options
def on_pr(**options: Any) -> None:
    """Review a pull request: spec/server drift, version bump and validation; one review comment.

    Exits non-zero when the review fails, so the check fails.

    \b
    Example:
      factory-bot on-pr --stage build --workdir work/ && factory-bot on-pr --stage publish --workdir work/
    """
    _run(flows.on_pr, reads_checkout=("build",), **options)


@click.command("on-push")
@flow_options
def on_push(**options: Any) -> None:
    """Release every spec version on the default branch that has no complete release yet.

    Tags `<name>-v<version>`, creates the release with the .tgz and its sha256, refreshes the index.
    Safe to re-run: a half-finished release is completed, nothing is created twice.

    \b
    Example:
      factory-bot on-push --forge local --repo ./servers-repo --event push.json
    """
    _run(flows.on_push, reads_checkout=("build",), **options)


@click.command("on-reimport")
@flow_options
def on_reimport(**options: Any) -> None:
    """Re-import every spec whose committed OpenAPI document changed, and propose it as a pull request.

    Deterministic (no model), the spec's `source:` filters and overrides kept; the PR shows the tools added,
    changed and removed and the version that calls for. Never pushes to the default branch; a document
    that no longer imports fails with the error located on it, and nothing is proposed.

    \b
    Example:
      factory-bot on-reimport --forge local --repo ./servers-repo --event push.json
    """
    _run(flows.on_reimport, reads_checkout=("build",), **options)


def _servers(forge_kind: str, repo: str | None, checkout: str | None) -> list[registry.Server]:
    """Servers from the tags of a checkout, with the forge's releases when one is configured."""
    from factory_bot import forge
    from factory_bot.gitops import registry

    if forge_kind == "local":
        local = forge.open("local", repo or checkout or ".")
        return registry.read(checkout or str(local.path), local.list_releases())
    if repo and Path(repo).is_dir():  # a clone's path, as --repo meant here before --checkout: its tags only
        return registry.read(repo, None)
    slug = repo or os.environ.get("GITHUB_REPOSITORY")
    releases = forge.open("github", slug).list_releases() if slug else None  # offline: tags only
    return registry.read(checkout or ".", releases)


def _with_registry_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([common.forge_option, common.repo_option, common.checkout_option]):
        fn = option(fn)
    return fn


@click.group("registry")
def registry_group() -> None:
    """What has been released, read from git tags and releases.

    \b
    Example:
      factory-bot registry list
    """


@registry_group.command("list")
@_with_registry_options
@common.json_option
def registry_list(forge_kind: str, repo: str | None, checkout: str | None, as_json: bool) -> None:
    """List released servers and their latest versions (--json: registry.json).

    \b
    Example:
      factory-bot registry list --repo ./servers-repo --forge local
    """
    from factory_bot.gitops import registry

    servers = _servers(forge_kind, repo, checkout)
    if as_json:
        click.echo(registry.index_json(servers), nl=False)
        return
    for server in servers:
        click.echo(f"{server.name:<24} {server.latest:<10} {server.description.splitlines()[0][:60]}")
    if not servers:
        click.echo("nothing released yet")


@registry_group.command("show")
@click.argument("name")
@_with_registry_options
def registry_show(name: str, forge_kind: str, repo: str | None, checkout: str | None) -> None:
    """Show one server's versions, tools, packages and checksums.

    \b
    Example:
      factory-bot registry show calculator
    """
    from factory_bot.gitops import registry

    server = registry.find(_servers(forge_kind, repo, checkout), name)
    click.echo(f"{server.name} (latest {server.latest})\n{server.description}\n")
    for v in server.versions:
        click.echo(f"  {v.version:<10} {v.tag:<28} tools: {', '.join(v.tools)}")
        click.echo(f"  {'':<10} {v.download_url or '(no package yet)'}" + (f"  sha256 {v.sha256}" if v.sha256 else ""))


@registry_group.command("install")
@click.argument("name")
@click.option(
    "--client",
    type=click.Choice(sorted(CLIENTS)),
    default="claude-code",
    show_default=True,
    help="Which client's configuration to print.",
)
@click.option("--version", "version", help="A specific version (default: the latest).")
@_with_registry_options
def registry_install(
    name: str, client: str, version: str | None, forge_kind: str, repo: str | None, checkout: str | None
) -> None:
    """Print how to install a released server and wire it into a client.

    \b
    Example:
      factory-bot registry install calculator --client claude-desktop
    """
    from factory_bot.gitops import registry

    server = registry.find(_servers(forge_kind, repo, checkout), name)
    click.echo(registry.install_text(server, client, version), nl=False)


COMMANDS = [on_issue, on_pr, on_push, on_reimport, registry_group]
