"""The local runner is no kinder than GitHub: each rule of the pinned actions, tokens and expressions, on
small workflows written for the rule (the stories in test_events_workflows.py then run the real ones)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .actions_expressions import ExpressionError, condition, evaluate, interpolate
from .actions_model import JobResult
from .actions_runner import Runner
from .actions_steps import PINNED, ActionError
from .fakes.github_api import FakeGitHub

CHECKOUT = f"actions/checkout@{PINNED['actions/checkout'][0]}"
UPLOAD = f"actions/upload-artifact@{PINNED['actions/upload-artifact'][0]}"
DOWNLOAD = f"actions/download-artifact@{PINNED['actions/download-artifact'][0]}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def tag_then_commit_again(bare: Path) -> None:
    """The first commit tagged calc-v1.0.0, then a second commit on main."""
    seed = bare.parent / "seed"
    git(bare.parent, "clone", "--quiet", str(bare), str(seed))
    git(seed, "tag", "calc-v1.0.0")
    (seed / "README.md").write_text("# version 2\n")
    git(seed, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "--quiet", "-am", "v2")
    git(seed, "push", "--quiet", "--tags", "origin", "main")


# A private repository with two commits on main and a tag on the first.
pytestmark = pytest.mark.github(
    files={"README.md": "# version 1\n"}, then=tag_then_commit_again, git_http=True, private=True
)


def workflow(tmp_path: Path, jobs: dict[str, Any], permissions: Any = None) -> Path:
    path = tmp_path / f"wf-{len(list(tmp_path.glob('wf-*')))}.yml"
    path.write_text(json.dumps({"name": "t", "on": "push", "permissions": permissions or {}, "jobs": jobs}))
    return path


def run(github: FakeGitHub, tmp_path: Path, jobs: dict[str, Any], **options: Any) -> dict[str, JobResult]:
    root = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    root.mkdir()
    event = {"ref": "refs/heads/main", "after": git(github.bare, "rev-parse", "main"), "repository": github.repo_json()}
    runner = Runner(
        workflow(tmp_path, jobs, options.pop("permissions", None)),
        "push",
        event,
        repo=github.clone_url,
        root=root,
        env={"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": github.slug},
        grant=github.grant,
        git_dir=github.bare,
        **options,
    )
    return runner.run()


def job(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"runs-on": "ubuntu-latest", "permissions": {"contents": "read"}, "steps": list(steps)} | extra


def sh(script: str, **extra: Any) -> dict[str, Any]:
    return {"run": script, "shell": "bash"} | extra


checkout = {"uses": CHECKOUT, "with": {"persist-credentials": False}}
MAKE_FILES = sh(
    "mkdir -p out/a/.cache out/b && echo s > out/a/.env && echo k > out/a/.cache/key "
    "&& echo 1 > out/a/one.txt && echo 2 > out/b/two.txt && mkdir -p out/a/node_modules/x "
    "&& echo m > out/a/node_modules/x/i.js"
)


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# -- upload-artifact / download-artifact ----------------------------------------------------------------
def test_upload_leaves_hidden_files_behind_and_roots_the_artifact_at_the_common_ancestor(github, tmp_path):
    jobs = run(
        github,
        tmp_path,
        {
            "make": job(
                MAKE_FILES,
                {"uses": UPLOAD, "with": {"name": "out", "path": "out/a/\nout/b/two.txt\n!out/**/node_modules/"}},
            ),
            "take": job({"uses": DOWNLOAD, "with": {"name": "out", "path": "got"}}, needs="make"),
        },
    )
    assert jobs["take"].result == "success", jobs["take"].log()
    assert listing(jobs["take"].workspace / "got") == ["a/one.txt", "b/two.txt"]


def test_upload_takes_hidden_files_only_when_asked(github, tmp_path):
    run(
        github,
        tmp_path,
        {
            "make": job(
                MAKE_FILES, {"uses": UPLOAD, "with": {"name": "out", "path": "out/a/", "include-hidden-files": True}}
            )
        },
    )
    assert listing(tmp_path / "run-0" / "artifacts" / "out") == [".cache/key", ".env", "node_modules/x/i.js", "one.txt"]


def test_a_single_file_is_uploaded_without_its_directories(github, tmp_path):
    run(github, tmp_path, {"make": job(MAKE_FILES, {"uses": UPLOAD, "with": {"name": "one", "path": "out/a/one.txt"}})})
    assert listing(tmp_path / "run-0" / "artifacts" / "one") == ["one.txt"]


@pytest.mark.parametrize(
    "mode, result", [(None, "success"), ("warn", "success"), ("ignore", "success"), ("error", "failure")]
)
def test_no_files_found_warns_by_default_and_fails_only_on_error(github, tmp_path, mode, result):
    upload = {
        "uses": UPLOAD,
        "with": {"name": "none", "path": "nothing/"} | ({"if-no-files-found": mode} if mode else {}),
    }
    jobs = run(
        github,
        tmp_path,
        {
            "make": job(upload),
            "take": job({"uses": DOWNLOAD, "with": {"name": "none"}}, needs="make", **{"if": "always()"}),
        },
    )
    assert jobs["make"].result == result
    assert ("::warning::No files were found" in jobs["make"].log()) == (mode in (None, "warn"))
    assert jobs["take"].result == "failure" and "Artifact 'none' not found" in jobs["take"].log()


def test_a_second_upload_of_one_name_fails_unless_it_overwrites(github, tmp_path):
    def up(**extra: Any) -> dict[str, Any]:
        return {"uses": UPLOAD, "with": {"name": "x", "path": "out/b/", "retention-days": 1} | extra}

    jobs = run(
        github,
        tmp_path,
        {
            "twice": job(MAKE_FILES, up(), up()),
            "over": job(MAKE_FILES, up(overwrite=True), needs="twice", **{"if": "always()"}),
        },
    )
    assert jobs["twice"].result == "failure" and "409" in jobs["twice"].steps[-1].output
    assert jobs["over"].result == "success"
    bad = run(
        github,
        tmp_path,
        {"j": job(MAKE_FILES, {"uses": UPLOAD, "with": {"name": "y", "path": "out/", "retention-days": "a week"}})},
    )
    assert bad["j"].result == "failure"


def test_download_by_pattern_gives_each_artifact_its_directory_unless_merged(github, tmp_path):
    make = job(MAKE_FILES, *({"uses": UPLOAD, "with": {"name": f"part-{p}", "path": f"out/{p}/"}} for p in "ab"))
    jobs = run(
        github,
        tmp_path,
        {
            "make": make,
            "take": job(
                {"uses": DOWNLOAD, "with": {"pattern": "part-*", "path": "split"}},
                {"uses": DOWNLOAD, "with": {"pattern": "part-*", "path": "merged", "merge-multiple": True}},
                {"uses": DOWNLOAD, "with": {"path": "all"}},
                needs="make",
            ),
        },
    )
    workspace = jobs["take"].workspace
    both = ["part-a/node_modules/x/i.js", "part-a/one.txt", "part-b/two.txt"]
    assert listing(workspace / "split") == both and listing(workspace / "all") == both
    assert listing(workspace / "merged") == ["node_modules/x/i.js", "one.txt", "two.txt"]


def test_a_missing_artifact_fails_the_job_unless_the_step_may_fail(github, tmp_path):
    missing = {"uses": DOWNLOAD, "with": {"name": "never"}}
    jobs = run(
        github,
        tmp_path,
        {
            "strict": job(missing, sh("echo after")),
            "lenient": job(
                missing | {"id": "d", "continue-on-error": True},
                sh("echo ${{ steps.d.outcome }}-${{ steps.d.conclusion }}"),
            ),
        },
    )
    assert jobs["strict"].result == "failure" and jobs["strict"].steps[-1].outcome == "skipped"
    assert jobs["lenient"].result == "success" and "failure-success" in jobs["lenient"].steps[-1].output


# -- checkout ---------------------------------------------------------------------------------------
def test_checkout_is_shallow_without_tags_unless_asked_for_all_history(github, tmp_path):
    show = sh("git rev-list --count HEAD; git tag; git rev-parse --abbrev-ref HEAD; git rev-parse HEAD")
    jobs = run(
        github,
        tmp_path,
        {
            "default": job(checkout, show),
            "full": job({"uses": CHECKOUT, "with": {"fetch-depth": 0, "persist-credentials": False}}, show),
            "by_sha": job(
                {
                    "uses": CHECKOUT,
                    "with": {
                        "ref": git(github.bare, "rev-parse", "main~1"),
                        "persist-credentials": False,
                        "path": "sub",
                    },
                },
                sh("cd sub && git rev-parse --abbrev-ref HEAD && cat README.md"),
            ),
        },
    )
    main = git(github.bare, "rev-parse", "main")
    assert jobs["default"].steps[-1].output.split()[2:] == ["1", "main", main]  # one commit, no tag
    assert jobs["full"].steps[-1].output.split()[2:] == ["2", "calc-v1.0.0", "main", main]
    assert jobs["by_sha"].steps[-1].output.split()[2:] == ["HEAD", "#", "version", "1"]  # detached


def test_checkout_persists_the_token_in_git_config_unless_told_not_to(github, tmp_path):
    probe = sh("git config --local --get-regexp 'extraheader' || echo none")
    jobs = run(github, tmp_path, {"kept": job({"uses": CHECKOUT}, probe), "dropped": job(checkout, probe)})
    basic = base64.b64encode(f"x-access-token:{jobs['kept'].token}".encode()).decode()
    assert basic in jobs["kept"].steps[-1].output and jobs["kept"].persisted_token
    assert "none" in jobs["dropped"].steps[-1].output and not jobs["dropped"].persisted_token
    assert basic not in (jobs["kept"].workspace / ".git" / "config").read_text()  # the post step removed it


def test_only_the_pinned_versions_and_their_inputs_are_emulated(github, tmp_path):
    with pytest.raises(ActionError, match="v4.2.2"):
        run(github, tmp_path, {"j": job({"uses": "actions/checkout@v4"})})
    with pytest.raises(ActionError, match="fetch_depth"):
        run(github, tmp_path, {"j": job({"uses": CHECKOUT, "with": {"fetch_depth": 0}})})
    with pytest.raises(ActionError, match="working-directory"):  # a key the runner would silently ignore
        run(github, tmp_path, {"j": job(sh("pwd", **{"working-directory": "sub"}))})


# -- tokens -----------------------------------------------------------------------------------------
def test_each_job_token_holds_exactly_its_permissions_and_github_refuses_the_rest(github, tmp_path):
    api = (
        'curl -s -o body.json -w "%{http_code}" -H "Authorization: Bearer $T" "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY'
    )
    list_issues = sh(api + '/issues"; cat body.json', env={"T": "${{ github.token }}"})
    push = sh("git push origin HEAD:refs/heads/other 2>&1 || true")
    jobs = run(
        github,
        tmp_path,
        {
            "none": job(list_issues, permissions={}),
            "reader": job(list_issues, permissions={"issues": "read", "contents": "read"}),
            "pusher": job({"uses": CHECKOUT}, push, permissions={"contents": "write"}),
            "nopush": job({"uses": CHECKOUT}, push, permissions={"contents": "read"}),
            "nocheckout": job({"uses": CHECKOUT}, permissions={"issues": "write"}),
        },
    )
    refused = jobs["none"].steps[-1].output
    assert refused.split("\n", 2)[1].startswith("403")
    assert json.loads(refused.split("\n", 2)[1][3:]) == {
        "message": "Resource not accessible by integration",
        "status": "403",
        "documentation_url": "https://docs.github.com/rest/authentication/permissions-required-for-github-apps",
    }
    assert jobs["reader"].steps[-1].output.split("\n", 2)[1].startswith("200")
    assert jobs["none"].permissions == {"metadata": "read"}  # `{}` still reads metadata, as GitHub's docs say
    assert "other" in git(github.bare, "branch", "--list", "other")
    assert "403" in jobs["nopush"].steps[-1].output
    assert jobs["nocheckout"].result == "failure"  # a private repository needs contents: read to clone
    assert github.used[jobs["pusher"].token] == {"contents": "write"}


# -- if:, needs and outputs -------------------------------------------------------------------------
def test_needs_results_and_outputs_flow_as_github_evaluates_them(github, tmp_path):
    say = sh('echo "value=42" >> "$GITHUB_OUTPUT"', id="say")
    jobs = run(
        github,
        tmp_path,
        {
            "a": job(say, outputs={"value": "${{ steps.say.outputs.value }}"}),
            "b": job(sh("exit 1"), needs="a"),
            "c": job(sh("echo c"), needs="b"),  # implicit success(): skipped after a failure
            "d": job(sh("echo ${{ needs.c.result }}"), needs="c", **{"if": "failure()"}),  # b is an ancestor
            "e": job(sh("echo ${{ needs.a.outputs.value }}"), needs=["a", "c"], **{"if": "always()"}),
            "f": job(sh("echo f"), needs="a", **{"if": "needs.a.outputs.value == 42"}),
        },
    )
    assert [jobs[j].result for j in "abcdef"] == ["success", "failure", "skipped", "success", "success", "success"]
    assert "skipped" in jobs["d"].log() and "42" in jobs["e"].log()


def test_expressions_follow_githubs_coercion_and_refuse_what_they_do_not_know():
    context = {"secrets": {}, "github": {"event": {"labels": [{"name": "A"}, {"name": "b"}]}}}
    assert evaluate("secrets.MISSING == ''", context) is True  # null and '' are both 0
    assert evaluate("contains(github.event.labels.*.name, 'a')", context) is True
    assert evaluate("'1' == 1 && !0 && !''", context) is True
    assert interpolate("${{ github.event.nothing }}|${{ 1 == 1 }}", context) == "|true"
    assert condition("github.event.labels", context, {"success": False, "failure": True, "cancelled": False}) is False
    for bad in ("success()", "format('{0}', 1)", "github.event.labels[0] ~ 1", "vars.X"):
        with pytest.raises(ExpressionError):
            evaluate(bad, context)
