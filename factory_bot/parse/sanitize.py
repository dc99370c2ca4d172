"""Make a request safe to read and to hand to a model: it is data, never instructions."""

from __future__ import annotations

import re
import unicodedata

from factory_bot.errors import RequestError

MAX_REQUEST_CHARS = 20_000  # what goes to the model: a request, not a document
MAX_INPUT_CHARS = 300_000  # anything read at all (a spec YAML block may be long; GitHub caps bodies at 65,536)

HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)  # an unclosed comment hides the rest too
# Characters a reader cannot see but a model reads: zero-width, bidi controls, BOM, Unicode tags, soft hyphen.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Credentials people paste by mistake: the model never needs them, the generated server reads env vars.
SECRET_PATTERNS = [
    re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{20,}"),
]
REDACTED = "[redacted secret]"


def clean_request(text: str, *, limit: int = MAX_INPUT_CHARS) -> str:
    """The request with HTML comments, invisible characters and pasted secrets removed; line ends normalized.

    Raises RequestError when nothing readable is left or the text is longer than `limit`.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise _too_long(len(text), MAX_INPUT_CHARS)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = HTML_COMMENT.sub("", text)
    text = INVISIBLE.sub("", text)
    text = CONTROL.sub("", text)
    text = redact_secrets(text)
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if not text:
        raise RequestError(
            "the request is empty (after removing HTML comments and invisible characters)",
            hint="describe the server in a sentence or two, or paste a spec YAML block",
        )
    if len(text) > limit:
        raise _too_long(len(text), limit)
    return text


def _too_long(length: int, limit: int) -> RequestError:
    return RequestError(
        f"the request is {length} characters; the limit is {limit}",
        hint="describe the server more briefly, or write the spec YAML yourself (`factory-bot schema` lists its fields)",
    )


def redact_secrets(text: str) -> str:
    """Replace things that look like API keys or tokens with a placeholder."""
    for pattern in SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def quote_for_prompt(text: str) -> str:
    """The request made safe to place between <request> tags: it cannot close them early."""
    return re.sub(r"(?i)<(/?)(request)", r"&lt;\1\2", text)
