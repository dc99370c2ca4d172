"""Git work for the forges (GitPython): clone, write a branch, push a tag, read tags, with per-command auth.

The token travels only in the child process's environment as an `http.extraHeader` (GIT_CONFIG_COUNT),
so it is never in a URL, an argv visible in `ps`, `.git/config`, or an error message.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import git

from factory_bot.errors import ForgeError

BOT_NAME = "mcp-factory[bot]"
BOT_EMAIL = "mcp-factory-bot@users.noreply.github.com"


@dataclass(frozen=True)
class GitRemote:
    """A git URL (https, file:// or a path) and the token git should present to it, if any."""

    url: str
    token: str | None = field(default=None, repr=False)
    config: tuple[tuple[str, str], ...] = ()  # extra git config for every command
    push_options: tuple[str, ...] = ()  # extra `git push` arguments, e.g. the local forge's receive-pack

    def env(self) -> dict[str, str]:
        env = {
            "GIT_TERMINAL_PROMPT": "0",  # never hang waiting for a password in CI
            "GIT_AUTHOR_NAME": os.environ.get("FACTORY_GIT_NAME", BOT_NAME),
            "GIT_AUTHOR_EMAIL": os.environ.get("FACTORY_GIT_EMAIL", BOT_EMAIL),
            "GIT_COMMITTER_NAME": os.environ.get("FACTORY_GIT_NAME", BOT_NAME),
            "GIT_COMMITTER_EMAIL": os.environ.get("FACTORY_GIT_EMAIL", BOT_EMAIL),
        }
        config = list(self.config)
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        if config:
            env["GIT_CONFIG_COUNT"] = str(len(config))
            for index, (key, value) in enumerate(config):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def redact(self, text: str) -> str:
        """Remove the token (plain and encoded) from text that is about to be shown or logged."""
        if not self.token:
            return text
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return text.replace(self.token, "***").replace(basic, "***")


@contextmanager
def _git_errors(remote: GitRemote, doing: str) -> Iterator[None]:
    try:
        yield
    except git.GitCommandError as exc:
        stderr = remote.redact(str(exc.stderr or "").strip())
        raise ForgeError(
            f"git could not {doing}: {stderr or exc.status}",
            hint="check that the repository exists and the token may push to it",
        ) from None


def clone(remote: GitRemote, dest: Path, *, branch: str | None = None) -> git.Repo:
    """Clone `remote` into `dest` (a fresh directory); later commands on the repo carry the same auth."""
    # --no-local: a path remote is cloned through git's pack protocol, not by copying its objects directory,
    # which fails when a push writes its incoming objects at the same moment (seen under load)
    args = ["--no-tags", "--no-local"] + ([f"--branch={branch}"] if branch else [])
    with _git_errors(remote, f"clone {remote.url}"):
        repo = git.Repo.clone_from(remote.url, str(dest), env=remote.env(), multi_options=args)
    repo.git.update_environment(**remote.env())  # in memory only; nothing lands in .git/config
    return repo


def remote_tags(remote: GitRemote) -> dict[str, str]:
    """Tag name → commit sha on the remote (peeled, so annotated tags give their commit)."""
    cmd = git.cmd.Git()
    cmd.update_environment(**remote.env())
    with _git_errors(remote, f"list the tags of {remote.url}"):
        out = cmd.ls_remote("--tags", remote.url)
    tags: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            tags[name[:-3]] = sha  # the peeled commit wins over the tag object
        else:
            tags.setdefault(name, sha)
    return tags


def remote_branch(repo: git.Repo, remote: GitRemote, branch: str) -> str | None:
    """The sha of `branch` on the remote, or None when it does not exist."""
    with _git_errors(remote, f"look up branch {branch}"):
        out = repo.git.ls_remote("origin", f"refs/heads/{branch}")
    return out.split("\t")[0] if out.strip() else None


def write_tree(repo: git.Repo, files: dict[str, str], replace_dirs: list[str]) -> None:
    """Make the working tree hold `files`, with each of `replace_dirs` replaced wholesale."""
    root = Path(repo.working_tree_dir or ".")
    for rel in replace_dirs:
        shutil.rmtree(root / _safe(rel), ignore_errors=True)
    for rel, text in files.items():
        path = root / _safe(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    repo.git.add("--all", "--", *sorted({PurePosixPath(_safe(p)).parts[0] for p in [*files, *replace_dirs]}))


def _safe(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or parts[0] == ".git":
        raise ForgeError(f"refusing to write outside the repository: {rel!r}")
    return str(PurePosixPath(*parts))


def publish_branch(
    repo: git.Repo,
    remote: GitRemote,
    *,
    base: str,
    branch: str,
    files: dict[str, str],
    replace_dirs: list[str],
    message: str,
    attempts: int = 3,
) -> tuple[str, bool]:
    """Commit `files` on top of `base` and push it as `branch`, replacing the bot's earlier commit; (sha, pushed).

    Nothing is pushed when the branch already holds exactly this tree on this base, so re-running is a no-op.
    The branch is replaced only while it holds nothing but the bot's own commits, and the push names the
    commit it replaces (--force-with-lease): a push by someone else in between is re-read and judged again,
    never overwritten.
    """
    as_bot(repo, remote)  # commits as the bot, whoever opened the clone
    with _git_errors(remote, f"prepare branch {branch}"):
        repo.git.fetch("origin", f"+refs/heads/{base}:refs/remotes/origin/{base}")
        repo.git.checkout("-B", branch, f"origin/{base}")
        write_tree(repo, files, replace_dirs)
        repo.git.commit("--allow-empty", "-m", message)
    sha = repo.head.commit.hexsha
    for attempt in range(attempts):
        existing = _fetch_branch(repo, remote, branch)
        if existing:
            _refuse_foreign_commits(repo, remote, base=base, branch=branch, head=existing)
            same_tree = repo.commit(existing).tree.hexsha == repo.commit(sha).tree.hexsha
            same_base = repo.commit(f"origin/{base}").hexsha in {p.hexsha for p in repo.commit(existing).parents}
            if same_tree and same_base:
                return existing, False
        lease = f"--force-with-lease=refs/heads/{branch}:{existing or ''}"
        try:
            repo.git.push(*remote.push_options, lease, "origin", f"{sha}:refs/heads/{branch}")
            return sha, True
        except git.GitCommandError as exc:
            stderr = remote.redact(str(exc.stderr or ""))
            if attempt == attempts - 1 or not _REJECTED.search(stderr):
                raise ForgeError(
                    f"git could not push branch {branch}: {stderr.strip() or exc.status}",
                    hint="someone keeps pushing to it; re-run later"
                    if _REJECTED.search(stderr)
                    else "check that the repository exists and the token may push to it",
                ) from None
    return sha, True  # not reached: the last attempt returns or raises


_REJECTED = re.compile(r"stale info|\[rejected\]|fetch first|non-fast-forward|cannot lock ref|failed to update ref")


def _fetch_branch(repo: git.Repo, remote: GitRemote, branch: str) -> str | None:
    """Fetch `branch` from the remote; its sha, or None when there is no such branch."""
    try:
        repo.git.fetch("origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
    except git.GitCommandError as exc:
        if "couldn't find remote ref" in str(exc.stderr or "").lower():
            return None
        raise ForgeError(
            f"git could not read branch {branch}: {remote.redact(str(exc.stderr or '')).strip()}",
            hint="check that the repository exists and the token may read it",
        ) from None
    return repo.commit(f"origin/{branch}").hexsha


def _refuse_foreign_commits(repo: git.Repo, remote: GitRemote, *, base: str, branch: str, head: str) -> None:
    """Stop when `branch` holds commits (beyond `base`) that the bot did not make: they are a person's work."""
    env = remote.env()
    bot = (env["GIT_AUTHOR_EMAIL"], env["GIT_COMMITTER_EMAIL"])
    log = repo.git.log("--format=%H%x1f%ae%x1f%ce%x1f%an%x1f%s", f"origin/{base}..{head}")
    foreign = [line.split("\x1f") for line in log.splitlines() if tuple(line.split("\x1f")[1:3]) != bot]
    if foreign:
        sha, _, _, author, subject = foreign[0]
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise ForgeError(
            f"branch {branch} has commits the bot did not make ({sha[:12]} by {author}: {subject!r}{more}); "
            "the bot never overwrites them",
            hint=f"merge or close the pull request of {branch}, or carry the change into the request "
            f"(edit the issue) and delete the branch {branch}; then re-run",
        )


def push_tag(repo: git.Repo, remote: GitRemote, *, tag: str, sha: str, message: str) -> bool:
    """Create annotated `tag` at `sha` on the remote; False if it is already there. A tag never moves."""
    as_bot(repo, remote)  # an annotated tag needs a tagger: the bot's, not the machine's (a runner has none)
    existing = remote_tags(remote).get(tag)
    if existing == sha:
        return False
    if existing is not None:
        raise ForgeError(
            f"tag {tag} already points at {existing[:12]}, not {sha[:12]}",
            hint="a released version is immutable: bump the version in the spec",
        )
    with _git_errors(remote, f"push tag {tag}"):
        repo.git.tag("-a", "-f", "-m", message, tag, sha)
        repo.git.push(*remote.push_options, "origin", f"refs/tags/{tag}:refs/tags/{tag}")
    return True


def commit_to_branch(
    repo: git.Repo, remote: GitRemote, *, branch: str, files: dict[str, str], message: str, attempts: int = 3
) -> str | None:
    """Add a commit with `files` on top of `branch` (no force); None when they are already there."""
    as_bot(repo, remote)  # commits as the bot, whoever opened the clone
    for attempt in range(attempts):
        with _git_errors(remote, f"update {branch}"):
            repo.git.fetch("origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
            repo.git.checkout("-B", branch, f"origin/{branch}")
            write_tree(repo, files, [])
            if not repo.index.diff("HEAD"):
                return None
            repo.git.commit("-m", message)
        try:
            with _git_errors(remote, f"push {branch}"):
                repo.git.push(*remote.push_options, "origin", f"HEAD:refs/heads/{branch}")
            return repo.head.commit.hexsha
        except ForgeError:
            if attempt == attempts - 1:
                raise  # someone else keeps pushing; the next run will catch up
    return None


# -- reading a local clone (the flows never import git themselves) -----------------------------------
Repo = git.Repo


def open_clone(path: str | Path) -> git.Repo | None:
    """The git clone at `path`, or None when `path` is not one."""
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def show(repo: git.Repo, revision: str) -> str | None:
    """`git show REV:PATH`, or None when the revision or path does not exist."""
    try:
        return repo.git.show(revision)
    except git.GitCommandError:
        return None


def log(repo: git.Repo, *args: str) -> str:
    """`git log ARGS...` output."""
    return repo.git.log(*args)


def fetch(repo: git.Repo, *refspecs: str) -> None:
    """Fetch `refspecs` from origin, with the auth the clone was opened with."""
    repo.git.fetch("origin", *refspecs)


def as_bot(repo: git.Repo, remote: GitRemote) -> None:
    """Later commands on `repo` authenticate, commit and tag as the bot (in memory only; nothing lands in .git/config)."""
    repo.git.update_environment(**remote.env())


def has_commit(repo: git.Repo, sha: str) -> bool:
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def fetch_commit(directory: Path, url: str, sha: str) -> bool:
    """A detached checkout of commit `sha` of `url` in `directory` (depth 1); False when it cannot be fetched."""
    repo = git.Repo.init(directory)
    try:
        repo.git.fetch("--depth=1", url, sha)
    except git.GitCommandError:
        return False
    repo.git.checkout("--detach", "FETCH_HEAD")
    return True


def delete_branch(repo: git.Repo, remote: GitRemote, name: str, sha: str) -> bool:
    """Delete `name` on the remote only if it still points at `sha`; False when it moved (the lease failed)."""
    as_bot(repo, remote)  # reopened from disk: the clone's in-memory auth is gone
    try:
        repo.git.push(
            *remote.push_options, f"--force-with-lease=refs/heads/{name}:{sha}", "origin", f":refs/heads/{name}"
        )
    except git.GitCommandError as exc:
        stderr = remote.redact(str(exc.stderr or ""))
        if "stale info" in stderr or "[rejected]" in stderr:
            return False  # the lease failed: someone pushed since the plan
        raise ForgeError(
            f"git could not delete branch {name}: {stderr.strip() or exc.status}",
            hint="check that the token may push to the repository (contents: write)",
        ) from None
    return True
