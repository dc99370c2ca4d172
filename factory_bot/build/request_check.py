"""Does the request an http tool sent match its example's `request:`? Pure comparison; the stub records."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from factory_bot.build.expectations import json_equal
from factory_bot.spec.params import ENV_REFERENCE
from factory_bot.spec.requests import ExpectedRequest

SAFE = "-_.!~*'()"  # what encodeURIComponent leaves as it is


def _normal_path(path: str) -> str:
    return "/".join(urllib.parse.quote(urllib.parse.unquote(part), safe=SAFE) for part in path.split("/"))


def request_problems(expected: ExpectedRequest, sent: dict[str, Any], env: dict[str, str]) -> list[str]:
    """How the request `sent` (method, target, headers, body as the stub recorded them) differs from `expected`."""
    problems = []
    url = urllib.parse.urlsplit(sent["path"])
    if expected.method is not None and sent["method"] != expected.method:
        problems.append(f"sent {sent['method']}, expected {expected.method}")
    if expected.path is not None and _normal_path(url.path) != _normal_path(expected.path):
        problems.append(f"sent the path {url.path}, expected {expected.path}")
    if expected.query is not None:
        got = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        want = {k: v if isinstance(v, list) else [v] for k, v in expected.query.items()}
        if got != {k: [_with_env(item, env) for item in v] for k, v in want.items()}:  # an API key: `${ENV}`
            shown = _masked(json.dumps(_flat(got), ensure_ascii=False), env)
            problems.append(f"sent the query {shown}, expected {json.dumps(_flat(want))}")
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    for name, template in expected.headers.items():
        value = _with_env(template, env)
        if name not in headers:
            problems.append(f"sent no {name} header")
        elif headers[name] != value:
            problems.append(f"sent the header {name}: {_masked(headers[name], env)!r}, expected {template!r}")
    if expected.checks_body:
        problems.extend(_body_problems(expected.body, sent["body"]))
    return problems


def _with_env(template: str, env: dict[str, str]) -> str:
    """An expected header or query value with each `${ENV}` as the example's env sets it."""
    return ENV_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), template)


def _body_problems(expected: Any, body: str) -> list[str]:
    if expected is None:
        return [f"sent a body, expected none: {body[:120]!r}"] if body else []
    if not body:
        return [f"sent no body, expected {json.dumps(expected)[:120]}"]
    try:
        got = json.loads(body)
    except ValueError:
        return [f"sent a body that is not JSON: {body[:120]!r}"]
    if not json_equal(got, expected):
        return [f"sent the body {json.dumps(got)[:200]}, expected {json.dumps(expected)[:200]}"]
    return []


def _flat(query: dict[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in sorted(query.items())}


def _masked(value: str, env: dict[str, str]) -> str:
    """A header or query value as a problem may show it: env values (secrets among them) as their ${NAME}."""
    for name, secret in sorted(env.items(), key=lambda kv: -len(kv[1])):
        if len(secret) >= 4:
            value = value.replace(secret, f"${{{name}}}")
    return re.sub(r"[^\x20-\x7e]", "?", value)


def sent_problem(expected: ExpectedRequest | None, sent: list[dict[str, Any]], env: dict[str, str]) -> str | None:
    """Why the requests one example made (as the stub recorded them) do not meet its `request:` (None if they do)."""
    if expected is None:
        return None
    if not sent:
        return "sent no request to the API; the example's `request:` expects one"
    if len(sent) > 1:
        return f"sent {len(sent)} requests to the API; the example's `request:` expects one"
    problems = request_problems(expected, sent[0], env)
    return "the request differs from `request:`: " + "; ".join(problems) if problems else None
