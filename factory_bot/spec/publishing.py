"""How a spec is published: its npm name, MCP registry name, license and the instructions the model reads.

Each default derives from the spec alone (its `name`, `repository`, `author`, tools), so the same spec gives
the same package.json and LICENSE in a build job, in the trusted rebuild and on a laptop.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factory_bot.spec.model import ServerSpec, Tool

# github.com/<owner>/<repo>, as https, git+https or ssh, with or without `.git`.
GITHUB_REPOSITORY = re.compile(
    r"^(?:git\+)?(?:https://|ssh://git@|git@)github\.com[/:](?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))"
    r"/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)
REPOSITORY_URL = re.compile(r"^(?:git\+)?(?:https://|ssh://git@|git@)[^\s/:]+[/:][^\s]+$")
# npm's rules (validate-npm-package-name): lowercase, URL-safe, at most 214 characters, an optional @scope/.
NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
MAX_NPM_NAME = 214
SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
# License ids whose text the bot writes itself (templates/server/licenses/<id>.txt); any other id needs
# `license_text`, the LICENSE file's words, since an SPDX id alone does not make a license file.
BUNDLED_LICENSES = ("Apache-2.0", "ISC", "MIT", "MPL-2.0")
DEFAULT_LICENSE = "MIT"
MAX_LICENSE_TEXT = 65_536  # the GPL-3.0 is 35 KiB
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)
_MAX_TOOL_LINE = 200


PUBLISHING_FIELDS = ("package", "license", "license_text", "author", "repository", "homepage")
# How a bundled license text begins, to recognise a repository's own LICENSE file.
_LICENSE_OPENINGS = {
    "MIT": re.compile(r"^\s*(The )?MIT License", re.IGNORECASE),
    "ISC": re.compile(r"^\s*(The )?ISC License", re.IGNORECASE),
    "Apache-2.0": re.compile(r"^\s*Apache License\s+Version 2\.0", re.IGNORECASE),
    "MPL-2.0": re.compile(r"^\s*Mozilla Public License,? Version 2\.0", re.IGNORECASE),
}


def repository_defaults(slug: str | None, license_file: str | None) -> dict[str, str]:
    """What a new server in the GitHub repository `slug` (owner/name) with that LICENSE file text inherits.

    The LICENSE is carried over verbatim (`license_text`, with its copyright line) under the SPDX id its
    opening names, or LicenseRef-LICENSE: a server is never published under another license than its
    repository's.
    """
    defaults: dict[str, str] = {}
    if slug and GITHUB_REPOSITORY.match(f"https://github.com/{slug}"):
        defaults["repository"] = f"https://github.com/{slug}"
    if license_file and license_file.strip():
        found = next((spdx for spdx, opening in _LICENSE_OPENINGS.items() if opening.match(license_file)), None)
        defaults |= {"license": found or "LicenseRef-LICENSE", "license_text": license_file}
    return defaults


def published_fields(spec: ServerSpec) -> dict[str, object]:
    """The publishing fields `spec` states, for the next version of the server to keep."""
    return {name: getattr(spec, name) for name in PUBLISHING_FIELDS if name in spec.model_fields_set}


def with_defaults(spec: ServerSpec, defaults: dict[str, object]) -> ServerSpec:
    """`spec` with each of `defaults` that it does not state itself, validated again.

    The bot records them when it writes a requested spec, so every later render (the PR, the trusted rebuild,
    a laptop) derives the same npm scope, registry name and LICENSE.
    """
    missing = {k: v for k, v in defaults.items() if k not in spec.model_fields_set}
    if "license" in spec.model_fields_set:
        missing.pop("license_text", None)  # the spec's own license brings its own text
    if not missing:
        return spec
    data = spec.model_dump(mode="json", exclude_unset=True)
    return type(spec).model_validate(data | missing)


def github_owner(repository: str | None) -> tuple[str, str] | None:
    """(owner, repository name) when `repository` is a GitHub repository URL."""
    match = GITHUB_REPOSITORY.match(repository or "")
    return (match["owner"], match["repo"]) if match else None


def npm_package(spec: ServerSpec) -> str:
    """The npm name: the spec's `package`, else `@<owner>/<name>` for a GitHub repository, else `name`.

    Scoped by default: a scope belongs to its owner, while bare names collide (`calculator` is taken on npm).
    """
    if spec.package:
        return spec.package
    found = github_owner(spec.repository)
    return f"@{found[0].lower()}/{spec.name}" if found else spec.name


def mcp_name(spec: ServerSpec) -> str | None:
    """The MCP registry name (`io.github.<owner>/<name>`, what `mcpName` must equal), when the owner is known."""
    found = github_owner(spec.repository)
    return f"io.github.{found[0]}/{spec.name}" if found else None


def repository_url(spec: ServerSpec) -> str | None:
    """The repository as npm writes it in package.json (`git+https://…​.git`)."""
    if spec.repository is None:
        return None
    found = github_owner(spec.repository)
    if found:
        return f"git+https://github.com/{found[0]}/{found[1]}.git"
    return spec.repository


def homepage(spec: ServerSpec) -> str | None:
    found = github_owner(spec.repository)
    return spec.homepage or (f"https://github.com/{found[0]}/{found[1]}#readme" if found else None)


def copyright_holder(spec: ServerSpec) -> str:
    """The author's name (without `<email>` or `(url)`), else the package's authors."""
    if spec.author:
        name = re.sub(r"\s*(<[^>]*>|\([^)]*\))", "", spec.author).strip()
        if name:
            return name
    return f"the authors of {npm_package(spec)}"


def _tool_line(tool: Tool) -> str:
    text = " ".join(tool.description.split())
    match = _FIRST_SENTENCE.match(text)
    sentence = match.group(1) if match else text
    if len(sentence) > _MAX_TOOL_LINE:
        sentence = sentence[: _MAX_TOOL_LINE - 1].rstrip() + "…"
    hints = tool.annotations
    notes = []
    if hints is not None and hints.readOnlyHint:
        notes.append("read-only")
    if hints is not None and hints.destructiveHint:
        notes.append("destructive: confirm with the user first")
    if tool.implementation.kind == "http":
        notes.append("calls an external API")
    return f"- {tool.name}: {sentence}" + (f" ({'; '.join(notes)})" if notes else "")


def instructions(spec: ServerSpec) -> str:
    """What the server tells the model on initialize: the spec's `instructions`, else when to use which tool."""
    if spec.instructions:
        return spec.instructions
    lines = [f"{spec.name}: {' '.join(spec.description.split())}", "", "Use these tools:"]
    lines += [_tool_line(tool) for tool in spec.tools]
    required = [e.name for e in spec.env if e.required]
    if required:
        lines += ["", f"A tool that reports a missing setting needs the user to set {', '.join(required)}."]
    return "\n".join(lines)
