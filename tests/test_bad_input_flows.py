"""Hostile requests through GitHub: each gets its problem, located, in the status comment, and changes nothing.

Real PyGithub against the fake GitHub, real git against a bare repository. None of these may reach the
build: the builder here fails the test if it is called. "Changes nothing" means no branch, tag, PR,
release or asset appears or moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.errors import FactoryError
from tests.fakes.github_api import FakeGitHub
from tests.faults_support import SMALL
from tests.github_forge import forge_for

TOKEN = "ghs_bad0input0token0never0shown"
POLICY = "rate_limit:\n  exempt: [alice, bob]\nrequesters:\n  allow: [bob]\n"
TOOL = SMALL[SMALL.index("  - name: echo") :]


def yaml_request(spec: str) -> str:
    return f"Please build this.\n\n```yaml\n{spec}```\n"


def swap(old: str, new: str) -> str:
    assert old in SMALL
    return yaml_request(SMALL.replace(old, new, 1))


def bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return yaml_request("\n".join(lines) + "\n" + SMALL.replace("tools:", "examples_of_doom: *i\ntools:"))


def many_tools(count: int) -> str:
    tools = "".join(TOOL.replace("name: echo", f"name: echo{i}") for i in range(count))
    return yaml_request(SMALL[: SMALL.index("  - name: echo")] + tools)


def issue_form(spec: str) -> str:
    return (
        "### Server name\n\necho-box\n\n### What should the server do?\n\nEcho.\n\n### Spec YAML\n\n"
        f"```yaml\n{spec}```\n\n### Generated code\n\n- [X] I understand\n"
    )


# (id, issue body, fragments the status comment must show: what is wrong and where)
HOSTILE: list[tuple[str, str, list[str]]] = [
    (
        "malformed-yaml",
        swap("description: Echoes text.", "description: Echoes: text: here"),
        ["malformed YAML", "request:3"],
    ),
    (
        "unknown-field-typo",
        swap("description: Echoes text.", "descripton: Echoes text."),
        ["unknown field 'descripton'", "did you mean 'description'"],
    ),
    ("unknown-nested-field", swap("    input:\n", "    inputs:\n"), ["unknown field 'inputs'", "request:7"]),
    ("invalid-server-name", swap("name: echo-box", "name: Echo Box!"), ["request:1: name", "kebab-case"]),
    ("path-traversal-server-name", swap("name: echo-box", "name: ../x"), ["'../x'", "kebab-case"]),
    ("absolute-path-server-name", swap("name: echo-box", "name: /etc/cron.d/x"), ["'/etc/cron.d/x'"]),
    ("path-traversal-tool-name", swap("  - name: echo", "  - name: ../x"), ["tools[0].name", "'../x'"]),
    ("traversal-in-input-name", swap("      text: {type", "      ../../x: {type"), ["tools[0].input"]),
    ("nul-in-server-name", swap("name: echo-box", 'name: "echo\\0box"'), ["request:1: name"]),
    ("duplicate-tools", yaml_request(SMALL + TOOL), ["two tools are named 'echo'"]),
    (
        "duplicate-yaml-keys",
        swap("version: 1.0.0\n", "version: 1.0.0\nversion: 9.9.9\n"),
        ["malformed YAML", "duplicate key"],
    ),
    (
        "wrong-type",
        yaml_request("name: echo-box\nversion: 1.0.0\ndescription: x\ntools: all of them\n"),
        ["request:4: tools", "valid list"],
    ),
    ("not-semver", swap("version: 1.0.0", "version: '1.0'"), ["semantic versioning"]),
    ("giant-tool-count", many_tools(51), ["tools", "at most 50"]),
    (
        "giant-description",
        swap("description: Echoes text.", "description: " + "x" * 5000),
        ["request:3: description", "at most 4000"],
    ),
    (
        "giant-code",
        swap("        return text;\n", "        return text;\n" + "        // padding line\n" * 1500),
        ["tools[0].implementation.code", "at most 20000"],
    ),
    ("giant-body", yaml_request(SMALL) + "x" * 300_001, ["the limit is 300000"]),
    ("yaml-bomb", bomb(), ["aliases", "request:2"]),
    (
        "deep-nesting",
        swap("description: Echoes text.", "description: " + "[" * 3000 + "]" * 3000),
        ["nests deeper than 64", "request:3"],
    ),
    (
        "example-contradicts-input",
        swap("{input: {text: hi}, output: hi}", "{input: {text: 5}, output: hi}"),
        ["tools[0]: examples[0].input", "not of type 'string'"],
    ),
    (
        "example-contradicts-output",
        swap("{input: {text: hi}, output: hi}", "{input: {text: hi}, output: 5}"),
        ["tools[0]: examples[0].output", "not of type 'string'"],
    ),
    (
        "trojan-source-raw",
        swap("        return text;", "        return text; /* \u202e } \u2066 */"),
        ["U+202E", "Trojan Source", "request:13"],
    ),
    (
        "trojan-source-escaped",
        swap("      code: |\n        return text;\n", '      code: "return text; /* \\u2066 */"\n'),
        ["U+2066", "Trojan Source", "tools[0].implementation.code"],
    ),
    (
        "zero-width-in-code",
        swap("      code: |\n        return text;\n", '      code: "return te\\u200bxt;"\n'),
        ["U+200B", "tools[0].implementation.code"],
    ),
    ("spec-hidden-in-html-comment", "<!--\n" + yaml_request(SMALL) + "-->\nbuild it", ["ANTHROPIC_API_KEY"]),
    (
        "form-spec-field-invalid",
        issue_form(SMALL.replace("name: echo-box", "name: ../../etc")),
        ["issue form's Spec YAML", "'../../etc'"],
    ),
]


pytestmark = pytest.mark.github(files={".github/mcp-factory.yml": POLICY})


@pytest.fixture(autouse=True)
def no_model_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def never_build(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("bad input must never reach the build")


def context(github: FakeGitHub, workdir: Path, builder: Any = never_build) -> flows.Context:
    workdir.mkdir(parents=True, exist_ok=True)
    return flows.Context(workdir=workdir, builder=builder, forge=lambda: forge_for(github, TOKEN))


def published(github: FakeGitHub) -> dict[str, Any]:
    """Everything a request could create or move: refs (branches, tags), PRs, releases, assets."""
    refs = git.Repo(github.bare).git.for_each_ref("--format=%(refname) %(objectname)")
    return {"refs": refs, "pulls": dict(github.pulls), "releases": dict(github.releases), "assets": dict(github.assets)}


def status_of(github: FakeGitHub, number: int) -> str:
    [status] = [c["body"] for c in github.comments_on(number) if "mcp-factory:status" in c["body"]]
    return status


@pytest.mark.parametrize(("body", "expected"), [pytest.param(b, e, id=i) for i, b, e in HOSTILE])
def test_a_hostile_request_is_answered_with_its_located_problem_and_changes_nothing(
    github: FakeGitHub, tmp_path: Path, body: str, expected: list[str]
):
    issue = github.open_issue("A server", body)
    before = published(github)

    with pytest.raises(FactoryError) as caught:
        flows.on_issue(github.issue_event(issue["number"]), context(github, tmp_path / "run"))

    status = status_of(github, issue["number"])
    assert status.startswith(":x:") and "**What to do:**" in status, status
    for fragment in expected:
        assert fragment in status, f"{fragment!r} not in the status comment:\n{status}"
    assert caught.value.hint and caught.value.exit_code == 2
    assert published(github) == before
    assert github.issues[issue["number"]]["labels"] == ["mcp-factory: failed"]
    assert TOKEN not in status


def test_the_count_of_hostile_inputs_tried():
    # The closing note reports this number; keep it honest when cases are added.
    assert len(HOSTILE) == 26


# -- a name that belongs to another request ----------------------------------------------------------
def add_spec_on_main(github: FakeGitHub, tmp_path: Path, message: str) -> None:
    work = git.Repo.clone_from(str(github.bare), tmp_path / "maintainer", branch="main")
    (tmp_path / "maintainer" / "specs").mkdir()
    (tmp_path / "maintainer" / "specs" / "echo-box.yaml").write_text(SMALL)
    work.git.add("specs")
    work.git.commit(
        "-m",
        message,
        env={
            "GIT_AUTHOR_NAME": "Alice",
            "GIT_AUTHOR_EMAIL": "alice@example.com",
            "GIT_COMMITTER_NAME": "Alice",
            "GIT_COMMITTER_EMAIL": "alice@example.com",
        },
    )
    work.git.push("origin", "HEAD:refs/heads/main")


def bobs_request(github: FakeGitHub) -> int:
    """An outsider (allowed to ask by the policy, not a maintainer) asks for `echo-box`, changed."""
    return github.open_issue(
        "Mine now", yaml_request(SMALL.replace("Echoes text.", "Bob's echo.")), login="bob", association="CONTRIBUTOR"
    )["number"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("holder", "shown"),
    [
        ("another issue's merged server", "specs/echo-box.yaml was requested in #41"),
        ("a server added by hand", "specs/echo-box.yaml was added by a maintainer"),
        ("another issue's open pull request", "factory/echo-box is being built for #1"),
    ],
)
def test_a_name_held_by_another_request_is_refused_with_a_hint_and_nothing_changes(
    github: FakeGitHub, tmp_path: Path, holder: str, shown: str, shared_builder: Any
):
    build = shared_builder  # the run's one real build of each spec: these stories are about names, not builds
    if holder == "another issue's merged server":
        add_spec_on_main(github, tmp_path, "echo-box 1.0.0: generated MCP server\n\nFactory-Issue: #41")
    elif holder == "a server added by hand":
        add_spec_on_main(github, tmp_path, "Add echo-box by hand")
    else:
        first = github.open_issue("Echo", yaml_request(SMALL))["number"]
        flows.on_issue(github.issue_event(first), context(github, tmp_path / "first", build))
    number = bobs_request(github)
    before = published(github)

    with pytest.raises(FactoryError) as caught:
        flows.on_issue(github.issue_event(number), context(github, tmp_path / "bob", build))

    assert caught.value.exit_code == 2
    status = status_of(github, number)
    assert status.startswith(":x:") and shown in status and "pick another name" in status, status
    assert published(github) == before


@pytest.mark.e2e
def test_a_maintainer_may_update_a_server_another_issue_created(
    github: FakeGitHub, tmp_path: Path, shared_builder: Any
):
    build = shared_builder
    add_spec_on_main(github, tmp_path, "echo-box 1.0.0: generated MCP server\n\nFactory-Issue: #41")
    number = github.open_issue("Louder", yaml_request(SMALL.replace("Echoes text.", "Echoes loudly.")))["number"]
    outcome = flows.on_issue(github.issue_event(number), context(github, tmp_path / "run", build))
    assert list(github.pulls) == [outcome["pull"]]
    assert status_of(github, number).startswith(":white_check_mark:")
