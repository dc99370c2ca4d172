"""Real git repositories for the fake GitHub to point at: a seeded bare repo, GitHub's merge button, and a
branch's files as text."""

from __future__ import annotations

from pathlib import Path


def seed_bare_repo(bare: Path, files: dict[str, str] | None = None) -> Path:
    """A bare repository with one commit on main (a README, plus `files`), like a fresh factory repo."""
    import git

    git.Repo.init(bare, bare=True, initial_branch="main")
    work = bare.parent / f"{bare.name}-seed"
    repo = git.Repo.clone_from(str(bare), work)
    for rel, text in {"README.md": "# MCP servers\n", **(files or {})}.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text, encoding="utf-8")
    repo.git.add("--all")
    repo.git.commit("-m", "Start the factory repository", env=_IDENTITY)
    repo.git.push("origin", "HEAD:refs/heads/main")
    return bare


def merge_branch(bare: Path, branch: str, *, message: str = "Merge pull request") -> str:
    """Merge `branch` into main of the bare repo the way GitHub's merge button does; the new main sha."""
    import tempfile

    import git

    with tempfile.TemporaryDirectory() as tmp:
        repo = git.Repo.clone_from(str(bare), Path(tmp) / "w", branch="main")
        repo.git.merge("--no-ff", f"origin/{branch}", "-m", message, env=_IDENTITY)
        repo.git.push("origin", "HEAD:refs/heads/main")
        return repo.head.commit.hexsha


def branch_files(bare: Path, ref: str) -> dict[str, str]:
    """Path → text of every file at `ref` in the bare repo."""
    import git

    repo = git.Repo(bare)
    names = repo.git.ls_tree("-r", "--name-only", ref).splitlines()
    return {name: repo.git.show(f"{ref}:{name}", strip_newline_in_stdout=False) for name in names}


_IDENTITY = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}
