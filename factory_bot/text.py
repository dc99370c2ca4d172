"""Text every stage shares: where the templates live, and the escaping filters for generated files and
forge texts (`js` for TypeScript/JSON, `md` for Markdown, `visible` for invisible characters)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any


def templates_dir() -> Path:
    """The templates/ folder: at the top of a checkout, or inside the installed package (pyproject maps
    templates/ to factory_bot/templates/ in wheels)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent / "templates"
    return checkout if (checkout / "server").is_dir() else package / "templates"


def js(value: Any) -> str:
    """Any JSON value as a TypeScript/JSON literal that is safe in generated source.

    ASCII-only output: every non-ASCII, invisible or bidirectional character becomes a visible \\uXXXX
    escape; `<`, `>` and `&` are escaped too so no string can read as markup or close a comment.
    The literal evaluates to exactly the original value.
    """
    text = json.dumps(value, ensure_ascii=True, sort_keys=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def visible(text: str) -> str:
    """Text with every invisible or bidirectional character shown as a visible \\u{…} escape."""
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES else f"\\u{{{ord(ch):04X}}}"
        for ch in text
    )


def md(text: Any, *, cell: bool = False) -> str:
    """Text for the generated README: HTML-escaped, invisible characters made visible, and in a table
    cell single-line with pipes escaped."""
    out = visible(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = re.sub(r"([\\`*_\[\]#|~])", r"\\\1", out)
    out = out.replace("@", "&#64;")  # no @mentions: generated text must not ping people
    if cell:
        out = " ".join(out.split())
    return out
