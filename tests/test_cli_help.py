"""Help that agrees with itself: every option of every verb explains itself, every verb is in README's Commands
table, and an option several verbs share means the same everywhere (type, default, choices, wording)."""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict

import click

from factory_bot.cli.app import cli

from .conftest import REPO
from .test_cli import all_commands

# Options whose meaning is each verb's own by nature, and why.
PER_VERB = {
    "--out": "a directory for build, render and package; a file for parse and schema",
    "--check": "parse's check depth; schema's committed file to compare",
}


def verbs() -> list[tuple[str, click.Command]]:
    return all_commands()


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden]


def describe(option: click.Option) -> tuple[str, str, str, str]:
    kind = option.type.to_info_dict() if hasattr(option.type, "to_info_dict") else repr(option.type)
    default = option.default() if callable(option.default) else option.default
    return (repr(kind), repr((default, option.show_default, option.is_flag)), option.help or "", repr(option.envvar))


def test_every_option_of_every_verb_has_help() -> None:
    missing = [
        f"{name} {o.opts[0]}" for name, command in verbs() for o in options(command) if not (o.help or "").strip()
    ]
    assert not missing, f"options without help: {missing}"


def test_every_verb_and_sub_verb_is_in_the_readme_commands_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("\n## Commands\n") :]
    table = table[: table.index("\n## ", 1)]
    rows = [line for line in table.splitlines() if line.startswith("| `factory-bot")]
    missing = [name for name, _ in verbs() if not any(f"`factory-bot {name}" in row for row in rows)]
    assert not missing, f"add these to README's Commands table: {missing}"


def test_an_option_shared_by_several_verbs_means_the_same_in_each() -> None:
    seen: dict[str, dict[tuple[str, str, str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, command in verbs():
        for option in options(command):
            for flag in option.opts + option.secondary_opts:
                if flag not in PER_VERB:
                    seen[flag][describe(option)].append(name)
    disagreeing = {flag: dict(kinds) for flag, kinds in seen.items() if len(kinds) > 1}
    assert not disagreeing, f"the same option differs between verbs: {disagreeing}"
    for shared in ("--forge", "--repo", "--workdir", "--event", "--json", "--dry-run"):
        assert shared in seen, shared
    assert len(next(iter(seen["--forge"].values()))) >= 6, "on-*, doctor, cleanup and registry share --forge"


def test_build_help_names_every_exit_code_and_the_stage_help_names_its_readme_section() -> None:
    build_help = cli.commands["build"].help or ""
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"\b{code}\b", build_help), f"build --help should name exit code {code}"
    stage = next(o for o in cli.commands["on-issue"].params if o.name == "stage")
    section = re.search(r'README, "([^"]+)"', stage.help or "")
    assert section and f"\n## {section.group(1)}\n" in (REPO / "README.md").read_text(encoding="utf-8")
    assert "gate" in (stage.help or "")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--stage gate" in readme, "README documents the gate stage"


def test_cleanup_apply_with_the_shared_dry_run_is_a_plan(tmp_path, monkeypatch) -> None:
    """action.yml adds --dry-run to `cleanup --apply` when asked for a dry run: the plan wins, nothing is removed."""
    from click.testing import CliRunner

    stale = tmp_path / "cache" / "toolchain-0000000000000000.staging-1"
    stale.mkdir(parents=True)
    old = 1_000_000_000
    os.utime(stale, (old, old))
    monkeypatch.setenv("FACTORY_BOT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # were it to act, only on this test's files
    for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["cleanup", "--apply", "--dry-run", "--older-than", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("would clean up (dry run; --apply to act)") and stale.exists(), result.output
