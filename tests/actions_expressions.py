"""GitHub Actions expressions, evaluated as GitHub documents them, strictly: syntax or a function outside
what this module knows raises ExpressionError, so our workflow files stay within what the tests can check.

Source: https://docs.github.com/en/actions/reference/workflows-and-actions/expressions (literals, operators,
loose equality with type coercion, object filters `a.*.b`, functions, status check functions and the
implicit `success() &&` of an `if:`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    """An expression this runner does not understand (keep the workflows within what it does)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(value)
        out.append((kind, value))
    return out


def _truthy(value: Any) -> bool:
    """Falsy: null, false, 0, -0, NaN and ''; everything else (arrays and objects too) is truthy."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _number(value: Any) -> float:
    """GitHub's coercion to a number: null → 0, booleans → 1/0, strings parsed ('' → 0), else NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan  # arrays and objects


def _equal(left: Any, right: Any) -> bool:
    """`==`: strings case-insensitively; different types coerced to numbers; objects only by identity."""
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return left is right
    if type(left) is type(right) and not isinstance(left, int | float):
        return left == right
    return _number(left) == _number(right)


class _Parser:
    def __init__(self, text: str, context: dict[str, Any], functions: dict[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value!r}, got {token}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            same = _equal(value, right)
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind in ("str", "num"):
            return value
        if kind == "op" and value == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "name":
            if value in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[value]
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
                if value not in self.functions:
                    raise ExpressionError(f"unknown function {value}()")
                return self.functions[value](*args)
            if value not in self.context:
                raise ExpressionError(f"unknown context {value!r}")
            return self.context[value]
        raise ExpressionError(f"unexpected {value!r}")

    def postfix(self, value: Any) -> Any:
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                kind, name = self.take()
                if name == "*":
                    value = list(value.values()) if isinstance(value, dict) else list(value or [])
                    if self.peek() == ("op", "."):
                        self.take()
                        key = self.take()[1]
                        value = [item.get(key) if isinstance(item, dict) else None for item in value]
                else:
                    value = _get(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = _get(value, key)
        return value


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and isinstance(key, str) and k.lower() == key.lower():
                return v
        return None
    if isinstance(value, list) and isinstance(key, int | float):
        return value[int(key)] if 0 <= key < len(value) else None
    if isinstance(value, list) and isinstance(key, str):
        return [_get(item, key) for item in value]  # object filter: labels.*.name
    return None


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_equal(item, needle) for item in haystack)
    return str(_loose(needle)) in str(_loose(haystack if haystack is not None else ""))


def evaluate(text: str, context: dict[str, Any], status: dict[str, bool] | None = None) -> Any:
    """Evaluate one expression (without the ${{ }}); the status functions exist only in an `if:`."""
    functions = {
        "contains": _contains,
        "startsWith": lambda s, p: str(_loose(s or "")).startswith(str(_loose(p))),
        "endsWith": lambda s, p: str(_loose(s or "")).endswith(str(_loose(p))),
        "fromJSON": lambda s: json.loads(s),
        "toJSON": lambda v: json.dumps(v, indent=2),
    }
    if status is not None:
        functions |= {
            "success": lambda: status["success"],
            "failure": lambda: status["failure"],
            "cancelled": lambda: status["cancelled"],
            "always": lambda: True,
        }
    return _Parser(text, context, functions).parse()


def condition(text: str | bool | None, context: dict[str, Any], status: dict[str, bool]) -> bool:
    """An `if:`: without a status function it means `success() && (...)`, as on GitHub."""
    if text is None:
        return status["success"]
    if isinstance(text, bool):
        return text and status["success"]
    inner = text.strip()
    if inner.startswith("${{") and inner.endswith("}}"):
        inner = inner[3:-2]
    value = _truthy(evaluate(inner, context, status))
    if not re.search(r"\b(success|failure|cancelled|always)\(", inner):
        value = value and status["success"]
    return value


def interpolate(text: Any, context: dict[str, Any]) -> str:
    """A value with ${{ }} parts, as GitHub substitutes it (null becomes '', booleans true/false)."""

    def one(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value if isinstance(value, str) else json.dumps(value)

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text), flags=re.S)
