"""The JSON bodies the fake GitHub answers with, shaped as GitHub's OpenAPI description requires them.

`GitHubShapes` is mixed into `FakeGitHub` (tests/fakes/github_api.py): each builder reads the fake's state.
"""

from __future__ import annotations

from typing import Any

NOW = "2026-01-15T12:00:00Z"
URL_TEMPLATES = (
    "archive_url assignees_url blobs_url branches_url collaborators_url comments_url commits_url "
    "compare_url contents_url contributors_url deployments_url downloads_url events_url forks_url "
    "git_commits_url git_refs_url git_tags_url hooks_url issue_comment_url issue_events_url "
    "issues_url keys_url labels_url languages_url merges_url milestones_url notifications_url "
    "pulls_url releases_url stargazers_url statuses_url subscribers_url subscription_url tags_url "
    "teams_url trees_url"
).split()


class GitHubShapes:
    """Users, the repository, labels, issues and their events, comments, pull requests, releases and assets."""

    # What the shapes read of the fake's state (FakeGitHub sets or computes each; issue_json also asks its
    # comments_on).
    url: str
    slug: str
    clone_url: str
    owner: str
    name: str
    private: bool
    bot: str
    collaborators: dict[str, str]
    issues: dict[int, dict[str, Any]]
    pulls: dict[int, dict[str, Any]]
    comments: dict[int, dict[str, Any]]
    releases: dict[int, dict[str, Any]]
    assets: dict[int, dict[str, Any]]

    def user(self, login: str) -> dict[str, Any]:
        base = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": abs(hash(login)) % 10_000,
            "node_id": f"U_{login}",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "avatar_url": f"{self.url}/avatars/{login}",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.url}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "site_admin": False,
        }

    def repo_json(self) -> dict[str, Any]:
        api = f"{self.url}/repos/{self.slug}"
        data: dict[str, Any] = {name: f"{api}/{name.removesuffix('_url')}" for name in URL_TEMPLATES}
        data.update(
            {
                "id": 1,
                "node_id": "R_1",
                "name": self.name,
                "full_name": self.slug,
                "owner": self.user(self.owner),
                "private": self.private,
                "html_url": f"{self.url}/{self.slug}",
                "description": "MCP servers",
                "fork": False,
                "url": api,
                "clone_url": self.clone_url,
                "git_url": self.clone_url,
                "ssh_url": self.clone_url,
                "svn_url": f"{self.url}/{self.slug}",
                "mirror_url": None,
                "homepage": None,
                "language": "TypeScript",
                "forks": 0,
                "forks_count": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "watchers": 0,
                "size": 1,
                "default_branch": "main",
                "open_issues": 0,
                "open_issues_count": 0,
                "has_issues": True,
                "has_projects": False,
                "has_wiki": False,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": False,
                "disabled": False,
                "license": None,
                "pushed_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
                "network_count": 0,
                "subscribers_count": 0,
                "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
            }
        )
        return data

    def label_json(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 100_000,
            "node_id": f"L_{name}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
            "url": f"{self.url}/repos/{self.slug}/labels/{name.replace(' ', '%20')}",
        }

    def issue_json(self, number: int) -> dict[str, Any]:
        issue = self.issues[number]
        api = f"{self.url}/repos/{self.slug}/issues/{number}"
        return {
            "id": issue["id"],
            "node_id": f"I_{number}",
            "number": number,
            "title": issue["title"],
            "body": issue["body"],
            "state": issue["state"],
            "locked": False,
            "user": self.user(issue["login"]),
            "labels": [self.label_json(n) for n in issue["labels"]],
            "assignee": None,
            "milestone": None,
            "comments": len(self.comments_on(number)),
            "url": api,
            "repository_url": f"{self.url}/repos/{self.slug}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.url}/{self.slug}/issues/{number}",
            "closed_at": None,
            "created_at": NOW,
            "updated_at": issue.get("updated", NOW),
            "author_association": issue.get("association", "OWNER"),
        }

    def event_json(self, number: int, event: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.url}/repos/{self.slug}/issues/events/{event['id']}"
        return {
            "id": event["id"],
            "node_id": f"LE_{event['id']}",
            "url": api,
            "actor": self.user(event["actor"]),
            "event": event["event"],
            "commit_id": None,
            "commit_url": None,
            "created_at": event["at"],
            "performed_via_github_app": None,
            "label": {"name": event["label"], "color": "ededed"},
        }

    def permission_json(self, login: str) -> dict[str, Any]:
        permission = self.collaborators.get(login, "read")
        return {"permission": permission, "role_name": permission, "user": self.user(login) | {"role_name": permission}}

    def comment_json(self, comment_id: int) -> dict[str, Any]:
        comment = self.comments[comment_id]
        return {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "body": comment["body"],
            "user": self.user(comment.get("author", self.bot)),
            "author_association": "NONE",
            "url": f"{self.url}/repos/{self.slug}/issues/comments/{comment_id}",
            "html_url": f"{self.url}/{self.slug}/issues/{comment['issue']}#issuecomment-{comment_id}",
            "issue_url": f"{self.url}/repos/{self.slug}/issues/{comment['issue']}",
            "created_at": NOW,
            "updated_at": NOW,
        }

    def _branch(self, ref: str) -> dict[str, Any]:
        return {
            "label": f"{self.owner}:{ref}",
            "ref": ref,
            "sha": "0" * 40,
            "user": self.user(self.owner),
            "repo": self.repo_json(),
        }

    def pull_json(self, number: int, *, simple: bool = False) -> dict[str, Any]:
        pr = self.pulls[number]
        api = f"{self.url}/repos/{self.slug}/pulls/{number}"
        html = f"{self.url}/{self.slug}/pull/{number}"
        issue_api = f"{self.url}/repos/{self.slug}/issues/{number}"
        links = {
            "self": api,
            "html": html,
            "issue": issue_api,
            "comments": f"{issue_api}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": f"{self.url}/repos/{self.slug}/pulls/comments{{/number}}",
            "commits": f"{api}/commits",
            "statuses": f"{self.url}/repos/{self.slug}/statuses/{'0' * 40}",
        }
        data: dict[str, Any] = {
            "id": pr["id"],
            "node_id": f"PR_{number}",
            "number": number,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "body": pr["body"],
            "user": self.user("mcp-factory[bot]"),
            "labels": [],
            "assignee": None,
            "milestone": None,
            "head": self._branch(pr["head"]),
            "base": self._branch(pr["base"]),
            "_links": {k: {"href": v} for k, v in links.items()},
            "url": api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": links["review_comment"],
            "comments_url": f"{issue_api}/comments",
            "statuses_url": links["statuses"],
            "merge_commit_sha": None,
            "merged_at": None,
            "closed_at": None,
            "created_at": NOW,
            "updated_at": NOW,
            "author_association": "NONE",
            "auto_merge": None,
        }
        if not simple:
            data.update(
                {
                    "merged": False,
                    "mergeable": True,
                    "mergeable_state": "clean",
                    "merged_by": None,
                    "comments": 0,
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 0,
                    "changed_files": 1,
                }
            )
        return data

    def asset_json(self, asset_id: int) -> dict[str, Any]:
        asset = self.assets[asset_id]
        release = self.releases[asset["release"]]
        return {
            "id": asset_id,
            "node_id": f"RA_{asset_id}",
            "name": asset["name"],
            "label": None,
            "content_type": asset["content_type"],
            "size": asset["size"],
            "state": asset["state"],
            "digest": asset["digest"],
            "download_count": 0,
            "uploader": self.user("mcp-factory[bot]"),
            "url": f"{self.url}/repos/{self.slug}/releases/assets/{asset_id}",
            "browser_download_url": f"{self.url}/{self.slug}/releases/download/{release['tag']}/{asset['name']}",
            "created_at": NOW,
            "updated_at": NOW,
        }

    def release_json(self, release_id: int) -> dict[str, Any]:
        release = self.releases[release_id]
        api = f"{self.url}/repos/{self.slug}/releases/{release_id}"
        return {
            "id": release_id,
            "node_id": f"RE_{release_id}",
            "tag_name": release["tag"],
            "target_commitish": "main",
            "name": release["name"],
            "body": release["body"],
            "draft": False,
            "prerelease": False,
            "author": self.user("mcp-factory[bot]"),
            "url": api,
            "html_url": f"{self.url}/{self.slug}/releases/tag/{release['tag']}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{self.url}/repos/{self.slug}/releases/{release_id}/assets{{?name,label}}",
            "tarball_url": f"{self.url}/repos/{self.slug}/tarball/{release['tag']}",
            "zipball_url": f"{self.url}/repos/{self.slug}/zipball/{release['tag']}",
            "created_at": NOW,
            "published_at": NOW,
            "assets": [self.asset_json(a) for a in sorted(self.assets) if self.assets[a]["release"] == release_id],
        }

    def release_by_tag(self, tag: str) -> dict[str, Any] | None:
        return next((self.release_json(i) for i, r in self.releases.items() if r["tag"] == tag), None)
