"""Read an issue deterministically: form sections, a spec YAML block, or free text for the model.

GitHub renders a submitted issue form as `### <label>` sections, `_No response_` for empty fields, a
textarea with `render: yaml` as a ```yaml fence, and checkboxes as `- [X] <label>`. People edit bodies
afterwards, so headings match loosely, sections may move, and text outside them is kept, not dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from factory_bot.errors import RequestError
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.params import SERVER_NAME

# The fields of .github/ISSUE_TEMPLATE/mcp-server.yml, by id; a test keeps the two in step.
FORM_FIELDS = {
    "name": "Server name",
    "purpose": "What should the server do?",
    "tools": "Tools",
    "spec": "Spec YAML",
    "env": "Environment and APIs",
    "openapi": "OpenAPI document",
    "operations": "Which operations",
    "acknowledge": "Generated code",
}
ACKNOWLEDGEMENT = (
    "I understand that the server's code will be generated (possibly written by Claude) and must be reviewed"
)
NO_RESPONSE = "_No response_"

HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$")
CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\]\s*(.*)$")
SPEC_KEY = re.compile(r"^(" + "|".join(ServerSpec.model_fields) + r")[ \t]*:", re.MULTILINE)


@dataclass(frozen=True)
class YamlBlock:
    """A spec YAML found in the issue, with the line it starts on (for error messages)."""

    text: str
    line: int
    in_form: bool


@dataclass
class IssueRequest:
    """What an issue asks for, read without any model."""

    title: str
    is_form: bool = False
    fields: dict[str, str] = field(default_factory=dict)  # form field id → text ("" for _No response_)
    other_sections: list[tuple[str, str]] = field(default_factory=list)  # headings that are not form fields
    preamble: str = ""  # text before the first heading
    spec: YamlBlock | None = None
    acknowledged: bool | None = None  # None: no acknowledgement section at all

    @property
    def server_name(self) -> str | None:
        """The name the requester chose, made kebab-case; None when absent or unusable."""
        raw = self.fields.get("name", "").strip().strip("`").strip()
        name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
        return name if name and SERVER_NAME.match(name) and len(name) <= 64 else None

    def intent(self) -> str:
        """The free-form text a model reads: title, form answers and any other notes, in a fixed order."""
        parts = [f"Title: {self.title.strip()}"] if self.title.strip() else []
        if self.is_form:
            for key in ("purpose", "tools", "env"):
                if self.fields.get(key):
                    parts.append(f"{FORM_FIELDS[key]}\n{self.fields[key]}")
        if self.preamble:
            parts.append(self.preamble)
        parts += [f"{heading}\n{text}" if text else heading for heading, text in self.other_sections]
        return "\n\n".join(parts).strip()


def read_issue(title: str, body: str) -> IssueRequest:
    """Split an (already sanitized) issue body into form fields, a spec block and the remaining text."""
    sections, preamble = _sections(body)
    known = {_normal(label): key for key, label in FORM_FIELDS.items()}
    request = IssueRequest(title=title)
    matched = [(known.get(_normal(h)), h, t) for h, t in sections]
    request.is_form = sum(1 for key, _, _ in matched if key) >= 2
    if not request.is_form:
        request.preamble = body.strip()
        request.spec = _find_spec(body, in_form=False)
        return request
    request.preamble = preamble.strip()
    for key, heading, text in matched:
        value = "" if text.strip() == NO_RESPONSE else text.strip()
        if key and key not in request.fields:
            request.fields[key] = value
        else:
            request.other_sections.append((heading, value))
    request.acknowledged = _acknowledged(request.fields["acknowledge"]) if "acknowledge" in request.fields else None
    request.spec = _form_spec(request.fields.get("spec", "")) or _find_spec(
        "\n\n".join([request.preamble, *(t for _, t in request.other_sections)]), in_form=False
    )
    if request.spec is None:
        for key in ("purpose", "tools", "env"):
            request.spec = request.spec or _find_spec(request.fields.get(key, ""), in_form=False)
    return request


def _normal(label: str) -> str:
    # "Tools (optional)", "tools:" and "**Tools**" all name the same field.
    label = re.sub(r"\(.*?\)", "", label)
    return re.sub(r"[^a-z0-9]+", "", label.lower())


def _sections(body: str) -> tuple[list[tuple[str, str]], str]:
    """(heading, text) pairs in order, and the text before the first heading; fenced code is never split."""
    sections: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
            fence = None
        elif fence is None and (heading := HEADING.match(line)):
            sections.append((heading.group(2).strip(), []))
            continue
        (sections[-1][1] if sections else preamble).append(line)
    return [(h, "\n".join(lines).strip()) for h, lines in sections], "\n".join(preamble)


def _fences(text: str) -> list[tuple[str, str, int]]:
    """(language, content, first content line) of every fenced code block; an unclosed fence runs to the end."""
    blocks = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        marker, language = opening.group(1), opening.group(2).lower()
        start = index + 1
        index = start
        while index < len(lines) and not (
            lines[index].strip().startswith(marker) and lines[index].strip().strip(marker[0]) == ""
        ):
            index += 1
        blocks.append((language, "\n".join(lines[start:index]), start + 1))
        index += 1
    return blocks


def looks_like_spec(text: str) -> bool:
    """True when text reads as a spec attempt: at least two top-level spec fields, `tools` among them or `name`."""
    keys = set(SPEC_KEY.findall(text))
    return len(keys) >= 2 and bool(keys & {"tools", "name"})


def _find_spec(text: str, *, in_form: bool) -> YamlBlock | None:
    """The one spec YAML in text: a yaml/yml fence, an unlabelled fence that reads as a spec, or the whole text."""
    candidates = [
        YamlBlock(content, line, in_form)
        for language, content, line in _fences(text)
        if (language in ("yaml", "yml") or language == "") and looks_like_spec(content)
    ]
    if len(candidates) > 1:
        lines = ", ".join(str(c.line) for c in candidates)
        raise RequestError(
            f"the issue holds {len(candidates)} spec YAML blocks (starting on lines {lines}); which one is meant?",
            hint="keep exactly one ```yaml block with the spec",
        )
    if candidates:
        return candidates[0]
    if not _fences(text) and looks_like_spec(text) and SPEC_KEY.match(text.lstrip()):
        return YamlBlock(text.strip(), 1, in_form)  # a bare spec, e.g. a spec file piped to `factory-bot parse`
    return None


def _form_spec(value: str) -> YamlBlock | None:
    """The form's spec field: GitHub fences it as ```yaml; an edited body may have lost the fence."""
    if not value:
        return None
    fences = _fences(value)
    if fences:
        language, content, line = fences[0]
        return YamlBlock(content, line, True) if content.strip() else None
    return YamlBlock(value, 1, True) if looks_like_spec(value) else None


def _acknowledged(text: str) -> bool:
    boxes = [CHECKBOX.match(line) for line in text.split("\n")]
    ticked = [m.group(1) in "xX" for m in boxes if m]
    return bool(ticked) and all(ticked)
