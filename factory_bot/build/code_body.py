"""What a code body needs from the function around it: the names it reads, and whether it can be indented.

The tool template declares only what a body uses (its inputs as locals, `args`, `env`, `log`, `signal`), so
the generated source compiles under `noUnusedLocals`/`noUnusedParameters`. `names` reads identifiers outside
comments and string literals (template literal `${…}` parts included) and skips member names (`process.env`
is not `env`). A word it wrongly counts (an object key `{ log: 1 }`, a word in a regular expression) only
declares one local too many, which tsc then reports against the tool; a use it misses cannot happen for an
identifier the body really reads outside a string.
"""

from __future__ import annotations

import functools
import re

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
# A `/` after one of these (or at the start) opens a regular expression, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}
_REGEX_AFTER_WORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "await"}


def names(code: str) -> set[str]:
    """Identifiers the body reads (not member names after `.`), outside comments and strings."""
    found: set[str] = set()
    _scan(code, 0, found, until_brace=False)
    return found


@functools.lru_cache(maxsize=1024)
def calls(code: str) -> frozenset[str]:
    """The names the body reads and calls somewhere (`text(...)`, not `r.text()` nor a local `const text`):
    helpers that are only ever called are imported on a call, so a body's own local of that name still compiles.
    Cached: a render asks this of every body once per tool."""
    return frozenset({word for word in names(code) if re.search(rf"(?<![\w$.]){re.escape(word)}\s*\(", code)})


def _scan(code: str, i: int, found: set[str], *, until_brace: bool) -> int:
    """Scan code from i; with until_brace, stop after the `}` that closes a template's `${`. Returns the index."""
    depth = 0
    previous = ""  # the last significant token, to tell a regex from a division
    n = len(code)
    while i < n:
        char = code[i]
        if code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if char in "'\"":
            i = _skip_string(code, i, char)
            previous = "string"
            continue
        if char == "`":
            i = _skip_template(code, i + 1, found)
            previous = "string"
            continue
        if char == "/" and (previous in _REGEX_AFTER or previous in _REGEX_AFTER_WORDS):
            i = _skip_regex(code, i)
            previous = "regex"
            continue
        match = _IDENT.match(code, i)
        if match and not (i > 0 and (code[i - 1].isalnum() or code[i - 1] in "_$")):
            word = match.group()
            if not _after_dot(code, i):
                found.add(word)
            previous = word
            i = match.end()
            continue
        if char.isspace():
            i += 1
            continue
        if until_brace:
            if char == "{":
                depth += 1
            elif char == "}":
                if depth == 0:
                    return i + 1
                depth -= 1
        previous = char if not char.isalnum() else "number"
        i += 1
    return i


def _after_dot(code: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and code[j].isspace():
        j -= 1
    return j >= 0 and code[j] == "." and not code.startswith("...", j - 2)


def _skip_string(code: str, i: int, quote: str) -> int:
    i += 1
    while i < len(code) and code[i] != quote:
        i += 2 if code[i] == "\\" else 1
    return i + 1


def _skip_template(code: str, i: int, found: set[str]) -> int:
    while i < len(code):
        if code[i] == "\\":
            i += 2
        elif code[i] == "`":
            return i + 1
        elif code.startswith("${", i):
            i = _scan(code, i + 2, found, until_brace=True)
        else:
            i += 1
    return i


def _skip_regex(code: str, i: int) -> int:
    i += 1
    in_class = False
    while i < len(code) and code[i] != "\n":
        char = code[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            i += 1
            while i < len(code) and code[i].isalpha():  # flags
                i += 1
            return i
        i += 1
    return i


def can_indent(code: str) -> bool:
    """True when adding spaces at line starts cannot change what the body means.

    Only a template literal (a backtick) or a string continued with a trailing backslash can carry a line
    break inside a literal; a body with neither has every line start outside any literal (a block comment
    may gain spaces, which changes nothing).
    """
    return "`" not in code and not any(line.endswith("\\") for line in code.split("\n"))


def indent(code: str, prefix: str = "  ") -> str:
    """The body with every non-empty line indented by prefix, when that is safe (see can_indent)."""
    if not can_indent(code):
        return code
    return "".join(prefix + line if line.strip() else line for line in code.splitlines(keepends=True))
