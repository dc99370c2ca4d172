"""The three actions our workflows use, emulated as their pinned versions behave (nothing kinder).

Each rule cites its source: the action's action.yml and README at the pinned commit, and its code where
the README is silent. A new pin must be re-read before it is added to PINNED.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PINNED = {  # the versions emulated here; any other `uses:` of these actions is refused
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
}
INPUTS = {  # each action.yml's `inputs:` at the pinned commit (a workflow passing anything else is a typo)
    "actions/checkout": {
        "repository",
        "ref",
        "token",
        "ssh-key",
        "ssh-known-hosts",
        "ssh-strict",
        "ssh-user",
        "persist-credentials",
        "path",
        "clean",
        "filter",
        "sparse-checkout",
        "sparse-checkout-cone-mode",
        "fetch-depth",
        "fetch-tags",
        "show-progress",
        "reference",
        "lfs",
        "submodules",
        "set-safe-directory",
        "github-server-url",
    },
    "actions/upload-artifact": {
        "name",
        "path",
        "if-no-files-found",
        "retention-days",
        "compression-level",
        "overwrite",
        "include-hidden-files",
    },
    "actions/download-artifact": {
        "name",
        "artifact-ids",
        "path",
        "pattern",
        "merge-multiple",
        "github-token",
        "repository",
        "run-id",
    },
}


class ActionError(Exception):
    """A step our emulation cannot run faithfully (an unknown pin or input): fix the workflow or the runner."""


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped (before continue-on-error)
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # secret variables the step's process could read


def action_of(uses: str) -> str | None:
    """'actions/checkout' for a pinned `actions/checkout@<sha>`; raises for an unpinned or unknown version."""
    name, _, ref = uses.partition("@")
    if name not in PINNED:
        return None
    if ref != PINNED[name][0]:
        raise ActionError(f"{uses}: the runner emulates {name} {PINNED[name][1]} ({PINNED[name][0]}) only")
    return name


def check_inputs(action: str, inputs: dict[str, str]) -> None:
    unknown = set(inputs) - INPUTS[action]
    if unknown:
        raise ActionError(f"{action} has no input(s) {sorted(unknown)}")


def _flag(inputs: dict[str, str], name: str, default: bool) -> bool:
    value = inputs.get(name, "")
    return default if value == "" else value.strip().lower() == "true"


# -- actions/checkout v4.2.2 ------------------------------------------------------------------------
def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ | {"GIT_TERMINAL_PROMPT": "0"},
        timeout=300,
    )
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, ["git", *args], proc.stdout, proc.stderr)
    return proc.stdout.strip()


def _refspec(ref: str, commit: str) -> list[str]:
    """src/ref-helper.ts getRefSpec: what a shallow fetch asks for."""
    upper = ref.upper()
    if commit:
        if upper.startswith("REFS/HEADS/"):
            return [f"+{commit}:refs/remotes/origin/{ref[len('refs/heads/') :]}"]
        if upper.startswith("REFS/PULL/"):
            return [f"+{commit}:refs/remotes/pull/{ref[len('refs/pull/') :]}"]
        if upper.startswith("REFS/TAGS/"):
            return [f"+{commit}:{ref}"]
        return [commit]
    if not upper.startswith("REFS/"):
        return [f"+refs/heads/{ref}*:refs/remotes/origin/{ref}*", f"+refs/tags/{ref}*:refs/tags/{ref}*"]
    if upper.startswith("REFS/HEADS/"):
        return [f"+{ref}:refs/remotes/origin/{ref[len('refs/heads/') :]}"]
    if upper.startswith("REFS/PULL/"):
        return [f"+{ref}:refs/remotes/pull/{ref[len('refs/pull/') :]}"]
    return [f"+{ref}:{ref}"]


def _checkout_target(repo: Path, ref: str, commit: str) -> list[str]:
    """src/ref-helper.ts getCheckoutInfo: a branch ref becomes a local branch, anything else a detached HEAD."""
    upper = ref.upper()
    if not ref:
        return [commit]
    if upper.startswith("REFS/HEADS/"):
        branch = ref[len("refs/heads/") :]
        return ["-B", branch, f"refs/remotes/origin/{branch}"]
    if upper.startswith("REFS/PULL/"):
        return [f"refs/remotes/pull/{ref[len('refs/pull/') :]}"]
    if upper.startswith("REFS/TAGS/"):
        return [ref]
    if upper.startswith("REFS/"):
        return [commit or ref]
    if _git(repo, "branch", "--list", "--remotes", f"origin/{ref}"):
        return ["-B", ref, f"refs/remotes/origin/{ref}"]
    if _git(repo, "tag", "--list", ref):
        return [f"refs/tags/{ref}"]
    raise subprocess.CalledProcessError(
        1, ["git", "checkout", ref], "", f"A branch or tag with the name '{ref}' could not be found"
    )


def auth_key(url: str) -> str | None:
    """src/git-auth-helper.ts: the token goes in `http.<scheme://host[:port]>/.extraheader`."""
    parsed = urlparse(url)
    return f"http.{parsed.scheme}://{parsed.netloc}/.extraheader" if parsed.scheme in ("http", "https") else None


def checkout(inputs: dict[str, str], *, workspace: Path, url: str, github: dict[str, Any]) -> StepResult:
    """actions/checkout: init, fetch (shallow by default, no tags), check out, keep or remove the token."""
    dest = workspace / inputs.get("path", "")
    dest.mkdir(parents=True, exist_ok=True)
    # src/input-helper.ts: no `ref` input → the event's ref and sha; a 40-hex ref is a commit.
    ref, commit = inputs.get("ref", ""), ""
    if not ref:
        ref, commit = github["ref"], github["sha"]
        if commit and ref and not ref.startswith("refs/"):
            ref = f"refs/heads/{ref}"
    elif re.fullmatch(r"[0-9a-fA-F]{40}", ref):
        ref, commit = "", ref
    depth = int(float(inputs.get("fetch-depth") or 1))
    depth = 0 if depth < 0 else depth
    fetch_tags = _flag(inputs, "fetch-tags", False)
    persist = _flag(inputs, "persist-credentials", True)
    try:
        _git(dest, "init", "--quiet")
        _git(dest, "remote", "add", "origin", url)
        key = auth_key(url)
        token = inputs.get("token") or github["token"]
        if key:  # configured before the fetch, removed afterwards unless persist-credentials
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            _git(dest, "config", "--local", key, f"AUTHORIZATION: basic {basic}")
        fetch = ["-c", "protocol.version=2", "fetch", "--prune", "--no-recurse-submodules", "--quiet"]
        if depth == 0:  # getRefSpecForAllHistory: every branch and tag
            specs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
            if ref.upper().startswith("REFS/PULL/"):
                specs.append(f"+{commit or ref}:refs/remotes/pull/{ref[len('refs/pull/') :]}")
            _git(dest, *fetch, "--no-tags", "origin", *specs)
            if commit and _git(dest, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}") != commit:
                _git(dest, *fetch, "--no-tags", "origin", *_refspec(ref, commit))
        else:
            tags = [] if fetch_tags else ["--no-tags"]
            _git(dest, *fetch, *tags, f"--depth={depth}", "origin", *_refspec(ref, commit))
        _git(dest, "checkout", "--quiet", "--force", *_checkout_target(dest, ref, commit))
        if key and not persist:
            _git(dest, "config", "--local", "--unset-all", key)
    except subprocess.CalledProcessError as exc:
        return StepResult("checkout", "failure", f"{' '.join(exc.cmd)}\n{exc.stderr}")
    sha = _git(dest, "rev-parse", "HEAD")
    return StepResult("checkout", "success", f"HEAD is now at {sha}", {"ref": ref, "commit": sha})


def remove_auth(dest: Path, url: str) -> None:
    """The post-job step of actions/checkout removes the token it persisted."""
    key = auth_key(url)
    if key and (dest / ".git").is_dir():
        subprocess.run(["git", "config", "--local", "--unset-all", key], cwd=dest, capture_output=True)


# -- actions/upload-artifact v4.6.2 and download-artifact v4.3.0 -----------------------------------------
def _segment(part: str) -> str:
    out, i = "", 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and "]" in part[i + 1 :]:
            end = part.index("]", i + 1)
            out += "[" + re.escape(part[i + 1 : end]).replace("\\-", "-") + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return out


def _pattern(absolute: str) -> re.Pattern[str]:
    """An @actions/glob pattern (`*`, `?`, `[...]`, `**` for any depth) as a regex over absolute paths."""
    out = ""
    for part in absolute.strip("/").split("/"):
        out += "(?:/[^/]+)*" if part == "**" else "/" + _segment(part)
    return re.compile(out + "$")


def _search_path(absolute: str) -> str:
    """@actions/glob getSearchPaths: the literal segments before the first glob character."""
    parts = []
    for part in absolute.strip("/").split("/"):
        if re.search(r"[*?\[]", part):
            break
        parts.append(part)
    return "/" + "/".join(parts)


def _lines(value: str, workspace: Path) -> list[tuple[bool, str, bool]]:
    """(exclude?, absolute pattern, directories only?) per non-empty line of a multi-line `path`."""
    out = []
    for line in value.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = line.startswith("!")
        line = line[1:] if exclude else line
        line = os.path.expanduser(line)
        absolute = os.path.normpath(os.path.join(workspace, line))
        out.append((exclude, absolute, line.endswith("/")))
    return out


def _matches(path: Path, is_dir: bool, pattern: re.Pattern[str], dirs_only: bool) -> bool:
    """With implicitDescendants, a pattern matching a directory matches everything below it."""
    text = str(path)
    if pattern.match(text) and (is_dir or not dirs_only):
        return True
    return any(pattern.match(str(parent)) for parent in path.parents)


def find_files(path_input: str, workspace: Path, *, include_hidden: bool) -> tuple[list[Path], Path | None]:
    """src/shared/search.ts findFilesToUpload: (files, artifact root)."""
    lines = _lines(path_input, workspace)
    includes = [(p, d) for e, p, d in lines if not e]
    excludes = [(_pattern(p), d) for e, p, d in lines if e]
    search = sorted({_search_path(p) for p, _ in includes})
    # Search paths below another search path are dropped (getSearchPaths), before the LCA is taken.
    search = [s for s in search if not any(s != o and s.startswith(o.rstrip("/") + "/") for o in search)]
    files: list[Path] = []
    for root in map(Path, search):
        if not root.exists():
            continue
        walk = [root] if root.is_file() else [root, *sorted(root.rglob("*"))]
        for item in walk:
            # README "Uploading Hidden Files": any file starting with '.' or inside a folder starting with '.'
            # (excludeHiddenFiles in @actions/glob looks at the search path itself and everything below it).
            below = [root.name, *item.relative_to(root).parts] if item != root else [root.name]
            if not include_hidden and any(part.startswith(".") and part not in (".", "..") for part in below):
                continue
            if item.is_dir():  # directories are never uploaded, only their files (empty ones vanish)
                continue
            if not any(_matches(item, False, _pattern(p), d) for p, d in includes):
                continue
            if any(_matches(item, False, pattern, d) for pattern, d in excludes):
                continue
            files.append(item)
    files = list(dict.fromkeys(files))
    if len(search) > 1:  # README: "the least common ancestor of all the search paths" is the root
        return files, Path(os.path.commonpath(search))
    if len(files) == 1 and str(files[0]) == search[0]:  # a single file: its parent is the root
        return files, files[0].parent
    return files, Path(search[0]) if search else None


NAME_FORBIDDEN = set('":<>|*?\r\n\\/')  # @actions/artifact validateArtifactName


def upload(inputs: dict[str, str], *, workspace: Path, store: Path, artifacts: dict[str, Path]) -> StepResult:
    """upload-artifact: the files of `path` (no hidden ones unless asked) under the LCA root, once per name."""
    name = inputs.get("name") or "artifact"
    if NAME_FORBIDDEN & set(name):
        return StepResult("upload", "failure", f"The artifact name is not valid: {name}")
    if inputs.get("retention-days"):  # src/upload/input-helper.ts: must be a number (the service clamps it)
        if not re.fullmatch(r"\d+", inputs["retention-days"].strip()):
            return StepResult("upload", "failure", "Invalid retention-days")
    mode = inputs.get("if-no-files-found") or "warn"
    if mode not in ("warn", "error", "ignore"):
        return StepResult("upload", "failure", f"Unrecognized if-no-files-found input. Provided: {mode}")
    files, root = find_files(inputs["path"], workspace, include_hidden=_flag(inputs, "include-hidden-files", False))
    if not files:
        message = f"No files were found with the provided path: {inputs['path']}. No artifacts will be uploaded."
        return StepResult(
            "upload",
            "failure" if mode == "error" else "success",
            {"error": message, "warn": f"::warning::{message}", "ignore": message}[mode],
        )
    if name in artifacts:
        if not _flag(inputs, "overwrite", False):  # README: a second upload of one name fails (409 Conflict)
            return StepResult(
                "upload",
                "failure",
                "Failed to CreateArtifact: (409) Conflict: an artifact with "
                "this name already exists on the workflow run",
            )
        shutil.rmtree(artifacts.pop(name))  # overwrite: true deletes the old artifact first
    target = store / name
    for file in files:
        dest = target / file.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest)  # a zip: symlinks followed, file permissions lost (README "Permission Loss")
    artifacts[name] = target
    return StepResult("upload", "success", f"uploaded {len(files)} file(s) as {name}", {"artifact-id": name})


def download(inputs: dict[str, str], *, workspace: Path, artifacts: dict[str, Path]) -> StepResult:
    """download-artifact: one named artifact into `path`, or several (pattern / all) each into path/<name>."""
    base = Path(os.path.expanduser(inputs.get("path") or str(workspace)))
    base = base if base.is_absolute() else workspace / base
    name = inputs.get("name", "")
    if name:
        if name not in artifacts:
            return StepResult("download", "failure", f"Unable to download artifact(s): Artifact '{name}' not found")
        chosen = {name: artifacts[name]}
    else:
        pattern = inputs.get("pattern", "")
        regex = _pattern("/" + pattern) if pattern else None
        chosen = {n: p for n, p in artifacts.items() if regex is None or regex.match("/" + n)}
    merge = _flag(inputs, "merge-multiple", False)
    for artifact, source in chosen.items():
        dest = base if name or merge else base / artifact
        shutil.copytree(source, dest, dirs_exist_ok=True)
    return StepResult(
        "download", "success", f"Total of {len(chosen)} artifact(s) downloaded", {"download-path": str(base)}
    )
