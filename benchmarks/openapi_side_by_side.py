"""Side by side with openapi-mcp-generator 4.0.1: the same OpenAPI documents through both, end to end.

usage: python benchmarks/openapi_side_by_side.py [DOCUMENT ...] [--out DIR] [--json]

Default documents: the Petstore and five more of npm @readme/oas-examples 8.2.2. Per document and tool:
- operations in the document, tools listed by the built server (over the real MCP client, `tools/list`);
- schemas kept: tools whose inputSchema has properties, tools with an outputSchema;
- requests right: each operation both map, called once against a local stand-in of the API with the example
  our import wrote (translated to the other tool's argument names: its path/query names are the document's,
  a JSON body goes in `requestBody`), the stand-in comparing method, path, query and body with the request
  worked out from the document (the example's `request:`);
- isError: the same call answered with HTTP 404, and whether the result says `isError: true`;
- seconds end to end: ours `factory-bot import openapi` + `factory-bot build` (compile, validate every example
  through the MCP client, npm pack); theirs the generator + `npm install --prefer-offline` + `npm run build`
  (no validation, no package).
A benchmark, never a test: the figures go to README's OpenAPI section.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from factory_bot.build.request_check import request_problems  # noqa: E402
from factory_bot.importers.openapi import ImportOptions, import_openapi  # noqa: E402
from factory_bot.spec.loader import load_spec_file  # noqa: E402
from factory_bot.spec.model import ServerSpec, Tool  # noqa: E402
from tests.npm_tools import ensure_npm_packages  # noqa: E402

GENERATOR = "openapi-mcp-generator@4.0.1"
DOCUMENTS = [
    "3.0/json/petstore.json",
    "3.0/json/readme-legacy.json",
    "3.0/json/schema-types.json",
    "3.0/json/parameters-style.json",
    "3.0/json/security.json",
    "3.0/json/polymorphism.json",
]


class StandIn:
    """Records each request and answers with `reply` (status, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, Any] = (200, {})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                outer.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, reply = outer.reply
                payload = b"" if reply in ("", None) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def sh(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
    return time.perf_counter() - started


def ours(document: Path, name: str, out: Path) -> tuple[float, ServerSpec, list[str]]:
    """Import + build (with validation) through the CLI; (seconds, spec, argv of the built server)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    spec_path = out / "specs" / f"{name}.yaml"
    seconds = sh(["factory-bot", "import", "openapi", str(document), "--name", name, "--out", str(spec_path)], env=env)
    seconds += sh(["factory-bot", "build", str(spec_path), "--out", str(out / "build"), "--force", "-q"], env=env)
    return seconds, load_spec_file(spec_path), ["node", str(out / "build" / name / "dist" / "index.js")]


def theirs(document: Path, out: Path) -> tuple[float, list[str]]:
    generator = ensure_npm_packages(GENERATOR) / "openapi-mcp-generator" / "bin" / "openapi-mcp-generator.js"
    project = out / "generated"
    seconds = sh(["node", str(generator), "-i", str(document), "-o", str(project), "--force"])
    seconds += sh(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], cwd=project)
    seconds += sh(["npm", "run", "build"], cwd=project)
    return seconds, ["node", str(project / "build" / "index.js")]


def their_arguments(tool: Tool, example_input: dict[str, Any], wire: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Our example's input in the other generator's shape: parameters by their document names, body fields
    under `requestBody`."""
    args: dict[str, Any] = {}
    body: Any = {}
    for name, value in example_input.items():
        location, wire_name = wire.get(name, ("body", name))
        if location == "body" and wire_name == "":  # an array or scalar body: the whole body
            body = value
        elif location == "body":
            body[wire_name] = value
        else:
            args[wire_name] = value
    if tool.implementation.body == "json":
        args["requestBody"] = body
    return args


async def session(
    argv: list[str], env: dict[str, str], stand_in: StandIn, calls, keys: dict[str, str]
) -> dict[str, Any]:
    """tools/list, then each call (tool name, arguments, expected request) twice: a 200 and a 404. `keys` fills
    the `${ENV}` of an API key the expected query carries (both servers get the same value)."""
    params = StdioServerParameters(command=argv[0], args=argv[1:], env={**os.environ, **env})
    found: dict[str, Any] = {"tools": 0, "inputs": 0, "outputs": 0, "right": 0, "called": 0, "is_error": 0}
    found["wrong"] = {}
    async with Client(params) as client:
        listed = (await client.list_tools()).tools
        found["tools"] = len(listed)
        found["inputs"] = sum(bool((t.input_schema or {}).get("properties")) for t in listed)
        found["outputs"] = sum(t.output_schema is not None for t in listed)
        names = {t.name for t in listed}
        for name, arguments, expected in calls:
            if name not in names:
                continue
            found["called"] += 1
            stand_in.requests.clear()
            stand_in.reply = (200, {})
            await client.call_tool(name, arguments)
            sent = stand_in.requests[-1] if stand_in.requests else None
            problems = request_problems(expected, sent, keys) if sent is not None else ["sent no request"]
            found["right"] += not problems
            if problems:
                found["wrong"][name] = problems[0][:160]
            stand_in.reply = (404, {"message": "not found"})
            result = await client.call_tool(name, arguments)
            found["is_error"] += bool(result.is_error)
    return found


def their_names(project: Path) -> dict[tuple[str, str], str]:
    """(METHOD, path template) → the other generator's tool name, read from its generated tool map."""
    source = (project / "src" / "index.ts").read_text()
    found = re.findall(r'name: "([^"]+)",.*?method: "([a-z]+)",\s*pathTemplate: "([^"]*)"', source, re.DOTALL)
    return {(method.upper(), _segments(path)): name for name, method, path in found}


def their_credentials(document: dict[str, Any]) -> dict[str, str]:
    """Every credential the other generator's server reads, per security scheme, set (as ours get theirs)."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    env = {}
    for scheme in schemes:
        key = re.sub(r"[^a-zA-Z0-9]", "_", scheme).upper()
        for prefix in ("API_KEY", "BEARER_TOKEN", "BASIC_USERNAME", "BASIC_PASSWORD", "OAUTH_TOKEN", "OPENID_TOKEN"):
            env[f"{prefix}_{key}"] = "x-secret"
    return env


def _segments(path: str) -> str:
    """A path template with every placeholder alike (names differ between the two), fragment dropped."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("#")[0])


def compare(document: Path, work: Path) -> dict[str, Any]:
    name = "bench-" + document.stem.replace("_", "-").lower()
    work.mkdir(parents=True, exist_ok=True)
    data = json.loads(document.read_text())
    operations = sum(
        1 for item in (data.get("paths") or {}).values() for m in item if m in ("get", "put", "post", "delete", "patch")
    )
    our_seconds, spec, our_argv = ours(document, name, work / "ours")
    wires = import_openapi(str(document), ImportOptions(name=name)).wires
    their_seconds, their_argv = theirs(document, work / "theirs")
    stand_in = StandIn()
    theirs_by_path = their_names(work / "theirs" / "generated")
    our_calls, their_calls = [], []
    for tool in spec.tools:
        example = tool.examples[0]
        expected = example.request.model_copy(update={"headers": {}})  # credentials are named differently
        our_calls.append((tool.name, example.input, expected))
        other = theirs_by_path.get((tool.implementation.method, _segments(tool.implementation.path)))
        if other:
            their_calls.append((other, their_arguments(tool, example.input, wires[tool.name]), expected))
    env_ours = {k: stand_in.url for k in spec.base_urls()} | {e.name: "x-secret" for e in spec.env}
    env_theirs = {"API_BASE_URL": stand_in.url} | their_credentials(data)
    try:
        keys = {e.name: "x-secret" for e in spec.env}
        row_ours = anyio.run(session, our_argv, env_ours, stand_in, our_calls, keys)
        row_theirs = anyio.run(session, their_argv, env_theirs, stand_in, their_calls, keys)
    finally:
        stand_in.server.shutdown()
    return {
        "document": str(document.relative_to(document.parents[2])),
        "operations": operations,
        "ours": row_ours | {"seconds": round(our_seconds, 1)},
        "theirs": row_theirs | {"seconds": round(their_seconds, 1)},
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| document | operations | tools (ours / theirs) | input schemas | output schemas | requests right "
        "(of calls) | isError on HTTP 404 | seconds end to end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, t = r["ours"], r["theirs"]
        lines.append(
            f"| {r['document']} | {r['operations']} | {o['tools']} / {t['tools']} | {o['inputs']} / {t['inputs']} "
            f"| {o['outputs']} / {t['outputs']} | {o['right']}/{o['called']} / {t['right']}/{t['called']} "
            f"| {o['is_error']}/{o['called']} / {t['is_error']}/{t['called']} | {o['seconds']} / {t['seconds']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("documents", nargs="*")
    parser.add_argument("--out", type=Path, default=Path("/tmp/openapi-side-by-side"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = ensure_npm_packages("@readme/oas-examples@8.2.2") / "@readme" / "oas-examples"
    documents = [Path(d) for d in args.documents] or [root / d for d in DOCUMENTS]
    shutil.rmtree(args.out, ignore_errors=True)
    rows = []
    for document in documents:
        rows.append(compare(document, args.out / document.stem))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else table(rows))


if __name__ == "__main__":
    main()
