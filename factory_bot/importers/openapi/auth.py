"""Security schemes → secret env vars and the header or query templates that send them; `servers` → the base URL.

API keys in a header, a cookie or the query (`key: ${ENV}`), HTTP bearer and basic, OAuth2 and OpenID Connect
(a token the user obtains and passes in) map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from factory_bot.importers.openapi.schemas import Unmappable
from factory_bot.importers.openapi.texts import clean, snake
from factory_bot.spec.params import HEADER_NAME

BASE_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
EXAMPLE_SECRET = "example-secret-value"


@dataclass(frozen=True)
class Auth:
    headers: dict[str, str]
    env: list[dict[str, Any]]
    note: str | None = None
    query: dict[str, str] = field(default_factory=dict)  # an API key in the query: name → `${ENV}`


def auth_for(alternatives: list[dict[str, list]], schemes: dict[str, Any], prefix: str, where: str) -> Auth:
    """Headers and env for the first requirement alternative whose every scheme maps (none: no auth)."""
    if not alternatives:
        return Auth({}, [])
    reasons = []
    for alternative in alternatives:
        if not alternative:  # `{}`: calling without credentials is allowed
            return Auth({}, [])
        try:
            return _combine([_scheme(name, schemes.get(name), prefix, where) for name in sorted(alternative)])
        except Unmappable as exc:
            reasons.append(str(exc))
    raise Unmappable("no security alternative can be sent: " + "; ".join(reasons))


def bearer_for_all(env_name: str) -> Auth:
    """--bearer-env: a token the user passes in, for an API whose description declares no security (GitHub's)."""
    env = {
        "name": env_name,
        "description": "Bearer token sent with every call (declared at import: the description names no scheme)",
        "secret": True,
        "example": EXAMPLE_SECRET,
    }
    return Auth({"Authorization": f"Bearer ${{{env_name}}}"}, [env])


def _combine(parts: list[Auth]) -> Auth:
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    env: list[dict[str, Any]] = []
    for part in parts:
        for name, value in part.query.items():
            if name in query:
                raise Unmappable(f"two schemes both set the query parameter {name}")
            query[name] = value
        for name, value in part.headers.items():
            if name in headers and name.lower() == "cookie":
                headers[name] = f"{headers[name]}; {value}"
            elif name in headers:
                raise Unmappable(f"two schemes both set the header {name}")
            else:
                headers[name] = value
        env.extend(part.env)
    return Auth(headers, env, query=query)


def _scheme(name: str, scheme: Any, prefix: str, where: str) -> Auth:
    if not isinstance(scheme, dict):
        raise Unmappable(f"the security scheme {name!r} is not defined")
    kind = scheme.get("type")
    description = clean(scheme.get("description") or "", f"{where}.securitySchemes.{name}.description", limit=400)
    base = snake(name).upper() or "AUTH"
    if kind == "apiKey":
        location, key = scheme.get("in"), scheme.get("name")
        if not isinstance(key, str) or not HEADER_NAME.match(key):
            raise Unmappable(f"the API key name {key!r} of {name!r} is not a header, cookie or query name")
        env = _env(prefix, base if "KEY" in base else f"{base}_KEY", f"API key ({name}). {description}".strip())
        if location == "header":
            return Auth({key: f"${{{env['name']}}}"}, [env])
        if location == "cookie":
            return Auth({"Cookie": f"{key}=${{{env['name']}}}"}, [env])
        if location == "query":
            return Auth({}, [env], query={key: f"${{{env['name']}}}"})
        raise Unmappable(f"{name!r} sends an API key in {location!r} (header, query and cookie map)")
    if kind == "http":
        scheme_name = str(scheme.get("scheme", "")).lower()
        if scheme_name == "bearer":
            env = _env(prefix, f"{base}_TOKEN", f"Bearer token ({name}). {description}".strip())
            return Auth({"Authorization": f"Bearer ${{{env['name']}}}"}, [env])
        if scheme_name == "basic":
            env = _env(prefix, f"{base}_CREDENTIALS", f"base64 of user:password, for HTTP basic auth ({name})")
            return Auth({"Authorization": f"Basic ${{{env['name']}}}"}, [env])
        raise Unmappable(f"the HTTP auth scheme {scheme_name!r} of {name!r}")
    if kind in ("oauth2", "openIdConnect"):
        flows = ", ".join(sorted(scheme.get("flows") or {})) or str(scheme.get("flow") or "")
        what = f"OAuth2 access token ({name}{': ' + flows if flows else ''}), obtained by you and passed in"
        env = _env(prefix, f"{base}_TOKEN", f"{what}. {description}".strip())
        return Auth({"Authorization": f"Bearer ${{{env['name']}}}"}, [env])
    raise Unmappable(f"the security scheme type {kind!r} of {name!r}")


def _env(prefix: str, name: str, description: str) -> dict[str, Any]:
    name = re.sub(r"_+", "_", f"{prefix}_{name}")[:64]
    return {"name": name, "description": description[:500], "secret": True, "example": EXAMPLE_SECRET}


def base_url(servers: list[dict[str, Any]], override: str | None, where: str) -> tuple[str, str | None]:
    """The first server's URL with its variables at their defaults (and a note naming them), or `override`."""
    if override:
        url, note = override, None
    elif not servers:
        raise Unmappable("the document names no server; pass --base-url")
    else:
        server = servers[0]
        url = str(server.get("url") or "")
        variables = server.get("variables") if isinstance(server.get("variables"), dict) else {}
        for variable, spec in variables.items():
            default = spec.get("default") if isinstance(spec, dict) else None
            url = url.replace(f"{{{variable}}}", str(default if default is not None else ""))
        note = f"server variables {', '.join(sorted(variables))} set to their defaults" if variables else None
    url = url.rstrip("/")
    if not BASE_URL.match(url):
        raise Unmappable(f"the server URL {url!r} is not an absolute http(s) URL; pass --base-url")
    return url, note
