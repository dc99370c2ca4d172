"""Document strings on their way into a spec: bidirectional controls refused (located), other invisible characters
dropped, lengths capped. Escaping for TypeScript happens later, in the renderer's one filter; nothing here
pastes text into code."""

from __future__ import annotations

import re

from factory_bot.errors import OpenAPIError
from factory_bot.spec.params import BIDI_CONTROLS, INVISIBLE, MAX_DESCRIPTION, MAX_TEXT


def clean(text: object, where: str, *, limit: int = MAX_DESCRIPTION) -> str:
    """A document string fit for a spec field: refused when it hides bidirectional controls, else trimmed."""
    if not isinstance(text, str):
        return ""
    match = BIDI_CONTROLS.search(text)
    if match:
        raise OpenAPIError(
            f"contains the invisible bidirectional control U+{ord(match.group()):04X} (Trojan Source): "
            f"{visible_excerpt(text, match.start())}",
            where=where,
            hint="text that reads differently than it is cannot become a tool's description; remove the character",
        )
    text = INVISIBLE.sub("", text.replace("\r\n", "\n")).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title(text: object, where: str) -> str:
    """A one-line title of at most MAX_TEXT characters."""
    first = clean(text, where).split("\n", 1)[0].strip()
    return first if len(first) <= MAX_TEXT else first[: MAX_TEXT - 1] + "…"


def visible_excerpt(text: str, at: int) -> str:
    """A few characters around `at`, with controls shown as \\uXXXX (never the raw character)."""
    excerpt = text[max(0, at - 20) : at + 20]
    return "".join(ch if ch.isprintable() and not BIDI_CONTROLS.match(ch) else f"\\u{ord(ch):04x}" for ch in excerpt)


def snake(text: str) -> str:
    """An identifier in snake_case: `getPetById` → get_pet_by_id, `issues/list-for-repo` → issues_list_for_repo."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
