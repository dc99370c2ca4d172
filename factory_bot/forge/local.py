"""The local forge: a git repository on disk plus a releases folder, so every flow runs offline, no token.

Pull requests, comments and labels live in one JSON file inside the repository's git dir (outside history
and the working tree); releases are folders `<releases>/<tag>/` holding the assets and `release.json`.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import git

from factory_bot.errors import ForgeError
from factory_bot.forge.base import Access, Asset, Comment, Forge, Issue, IssueEvent, PullRequest, Release
from factory_bot.forge.git import GitRemote


class LocalForge(Forge):
    """A repository at `path` (bare or not) standing in for a GitHub repository."""

    kind = "local"

    def __init__(self, path: str | Path, *, releases: str | Path | None = None) -> None:
        self.path = Path(path).resolve()
        try:
            repo = git.Repo(self.path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise ForgeError(
                f"{self.path} is not a git repository",
                hint="create one with `git init -b main PATH` and commit specs/ to it",
            ) from None
        self.slug = str(self.path)
        self._git_dir = Path(repo.git_dir)
        try:
            self.default_branch = repo.git.symbolic_ref("--short", "HEAD")
        except git.GitCommandError:
            self.default_branch = "main"
        self.state_file = self._git_dir / "mcp-factory" / "state.json"
        self.releases_dir = Path(releases).resolve() if releases else self._git_dir / "mcp-factory" / "releases"

    def remote(self) -> GitRemote:
        # Pushing to the checked-out branch of a non-bare repo updates its working tree (if clean);
        # git clears GIT_CONFIG_* for a local receiving side, so the setting travels in the command.
        receive = "--receive-pack=git -c receive.denyCurrentBranch=updateInstead receive-pack"
        return GitRemote(str(self.path), push_options=(receive,))

    # -- state -----------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {"next_id": 1, "pulls": [], "comments": [], "labels": {}}
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def _save(self, state: dict[str, Any]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_file)  # atomic: a crash never leaves half a state file

    @staticmethod
    def _next(state: dict[str, Any]) -> int:
        state["next_id"] += 1
        return state["next_id"] - 1

    # -- pull requests ---------------------------------------------------------------------------
    @staticmethod
    def _pull(data: dict[str, Any]) -> PullRequest:
        return PullRequest(data["number"], data["url"], data["head"], data["base"], data["title"], data["body"])

    def find_pull(self, head: str) -> PullRequest | None:
        found = [p for p in self._load()["pulls"] if p["head"] == head and p["state"] == "open"]
        return self._pull(found[0]) if found else None

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        existing = self.find_pull(head)
        if existing:
            return existing
        state = self._load()
        number = 1000 + self._next(state)  # far from issue numbers a user types into an event file
        data = {
            "number": number,
            "url": f"{self.path}#pull/{number}",
            "head": head,
            "base": base,
            "title": title,
            "body": body,
            "state": "open",
        }
        state["pulls"].append(data)
        self._save(state)
        return self._pull(data)

    def update_pull(self, number: int, *, title: str, body: str) -> PullRequest:
        state = self._load()
        for data in state["pulls"]:
            if data["number"] == number:
                data.update(title=title, body=body)
                self._save(state)
                return self._pull(data)
        raise ForgeError(f"no pull request #{number} in {self.path}")

    # -- comments and labels ---------------------------------------------------------------------
    def find_comment(self, issue: int, marker: str) -> Comment | None:
        for data in self._load()["comments"]:
            if data["issue"] == issue and marker in data["body"]:
                return Comment(data["id"], data["body"], author=self.own_login())
        return None

    def create_comment(self, issue: int, body: str) -> Comment:
        state = self._load()
        data = {"id": self._next(state), "issue": issue, "body": body}
        state["comments"].append(data)
        self._save(state)
        return Comment(data["id"], body, author=self.own_login())

    def update_comment(self, issue: int, comment_id: int, body: str) -> Comment:
        state = self._load()
        for data in state["comments"]:
            if data["id"] == comment_id:
                data["body"] = body
                self._save(state)
                return Comment(comment_id, body, author=self.own_login())
        raise ForgeError(f"no comment {comment_id} in {self.path}")

    def find_comments(self, issue: int, marker: str) -> list[Comment]:
        return [
            Comment(d["id"], d["body"], author=self.own_login())
            for d in self._load()["comments"]
            if d["issue"] == issue and marker in d["body"]
        ]

    def delete_comment(self, issue: int, comment_id: int) -> None:
        state = self._load()
        state["comments"] = [d for d in state["comments"] if d["id"] != comment_id]
        self._save(state)

    def labels(self, issue: int) -> list[str]:
        return list(self._load()["labels"].get(str(issue), []))

    def set_labels(self, issue: int, labels: list[str]) -> None:
        state = self._load()
        before = set(state["labels"].get(str(issue), []))
        state["labels"][str(issue)] = sorted(labels)
        now = datetime.now(UTC).isoformat()
        events = state.setdefault("events", [])
        events += [
            {"issue": issue, "kind": "labeled", "label": name, "at": now} for name in sorted(set(labels) - before)
        ]
        events += [
            {"issue": issue, "kind": "unlabeled", "label": name, "at": now} for name in sorted(before - set(labels))
        ]
        self._save(state)

    # -- who asks and what is left over: on the local forge you are the only user, a maintainer ---
    def permission(self, login: str) -> str:
        return "admin"

    def issues_by(self, login: str, since: datetime) -> list[Issue]:
        return []  # event files carry no authors to count

    def own_login(self) -> str:
        return "local"  # only the bot writes the state file

    def issue_events(self, issue: int) -> list[IssueEvent]:
        return [
            IssueEvent(e["kind"], "local", datetime.fromisoformat(e["at"]), e.get("label", ""))
            for e in self._load().get("events", [])
            if e["issue"] == issue
        ]

    def get_issue(self, issue: int) -> Issue | None:
        state = self._load()
        return Issue(
            issue, "", state.get("issue_states", {}).get(str(issue), "open"), tuple(state["labels"].get(str(issue), []))
        )

    def close_issue(self, issue: int) -> None:
        """Mark an issue closed (what closing it on GitHub would do), for offline cleanup runs."""
        state = self._load()
        state.setdefault("issue_states", {})[str(issue)] = "closed"
        self._save(state)

    def list_pulls(self) -> list[PullRequest]:
        return [self._pull(p) for p in self._load()["pulls"] if p["state"] == "open"]

    def close_pull(self, number: int) -> None:
        state = self._load()
        for data in state["pulls"]:
            if data["number"] == number:
                data["state"] = "closed"
        self._save(state)

    def access(self) -> Access:
        return Access(None, None, {"admin": True, "push": True, "pull": True})

    # -- releases --------------------------------------------------------------------------------
    def _release(self, folder: Path) -> Release:
        meta = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        assets = tuple(
            Asset(index, p.name, p.stat().st_size, p.as_uri())
            for index, p in enumerate(sorted(folder.iterdir()), start=1)
            if p.is_file() and p.name != "release.json" and not p.name.endswith(".partial")
        )
        return Release(meta["id"], meta["tag"], meta["name"], meta["body"], folder.as_uri(), assets)

    def list_releases(self) -> list[Release]:
        if not self.releases_dir.is_dir():
            return []
        return [self._release(d) for d in sorted(self.releases_dir.iterdir()) if (d / "release.json").exists()]

    def get_release(self, tag: str) -> Release | None:
        folder = self.releases_dir / tag
        return self._release(folder) if (folder / "release.json").exists() else None

    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        existing = self.get_release(tag)
        if existing:
            return existing
        tags = git.Repo(self.path).git.tag("--list", tag)
        if not tags.strip():
            raise ForgeError(f"cannot release {tag}: the tag does not exist in {self.path}")
        folder = self.releases_dir / tag
        folder.mkdir(parents=True, exist_ok=True)
        state = self._load()
        meta = {"id": self._next(state), "tag": tag, "name": name, "body": body}
        self._save(state)
        (folder / "release.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return self._release(folder)

    def update_release(self, release: Release, *, body: str) -> Release:
        folder = self.releases_dir / release.tag
        meta = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        meta["body"] = body
        (folder / "release.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return self._release(folder)

    def upload_asset(self, release: Release, path: Path, *, name: str, content_type: str) -> Asset:
        if "/" in name or name in ("", ".", "..", "release.json"):
            raise ForgeError(f"invalid asset name {name!r}")
        folder = self.releases_dir / release.tag
        if (folder / name).is_file():  # published: identical bytes are "already done", others refused
            if (folder / name).read_bytes() != Path(path).read_bytes():
                raise ForgeError(
                    f"release {release.tag} already has {name} with different content; "
                    "a published asset is never replaced",
                    hint="bump the version in the spec to publish a changed package",
                )
            return next(a for a in self._release(folder).assets if a.name == name)
        partial = folder / f"{name}.partial"
        shutil.copyfile(path, partial)
        partial.replace(folder / name)  # appears whole or not at all
        return next(a for a in self._release(folder).assets if a.name == name)

    def download_asset(self, asset: Asset) -> bytes:
        return Path(unquote(urlparse(asset.url).path)).read_bytes()

    def download_url(self, tag: str, name: str) -> str:
        return (self.releases_dir / tag / name).as_uri()
