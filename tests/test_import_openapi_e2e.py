"""Imported servers build, validate and send the requests their OpenAPI document describes.

The Petstore family (npm @readme/oas-examples) imports and builds end to end; the Petstore 3.0 server,
installed from its .tgz, is called for every tool against a local stand-in of the API that checks method,
path, query, headers and body against the document. GitHub's own description (npm @octokit/openapi) is read
whole, its `issues` tag is refused with the count and how to narrow, and a chosen subset builds.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build.pipeline import build_many
from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi import ImportOptions, TooManyOperations, import_openapi
from factory_bot.importers.openapi.operations import Filters
from factory_bot.importers.openapi.texts import snake
from tests.import_openapi_support import oas_example
from tests.test_fake_github_openapi import openapi_file

from .test_build_e2e import npm_install_global

pytestmark = pytest.mark.e2e

KEY, TOKEN = "key-7f3a9c1e", "tok-5b2d8e4f"


def build(spec, out: Path):
    [result] = build_many([spec], out, jobs=1, use_cache=False)
    failures = [(c.name, c.tool, c.message, c.details[:3]) for c in result.report.failures]
    assert result.ok, failures
    return result


@pytest.fixture(scope="module")
def petstore(shared_build):
    source = oas_example("3.0/json/petstore.json")
    imported = import_openapi(source, ImportOptions(name="petstore"))
    result = shared_build(imported.spec)  # once per run, not once per worker
    assert result.ok, [(c.name, c.tool, c.message, c.details[:3]) for c in result.report.failures]
    return {"spec": imported.spec, "document": json.loads(Path(source).read_text()), "result": result}


@pytest.mark.parametrize("version", ["2.0", "3.1"])
def test_the_other_petstores_import_build_and_validate(version: str, tmp_path: Path) -> None:
    imported = import_openapi(oas_example(f"{version}/json/petstore.json"), ImportOptions(name="petstore"))
    result = build(imported.spec, tmp_path)
    assert sum(c.name == "examples" for c in result.report.checks) == len(imported.spec.tools) >= 15


class StandIn:
    """A local stand-in for the Petstore API: records each request and answers with the reply it is given."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, Any] = (200, None)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                url = urllib.parse.urlsplit(self.path)
                stand_in.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": urllib.parse.parse_qs(url.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length).decode() if length else None,
                    }
                )
                status, body = stand_in.reply
                payload = b"" if body in ("", None) else (body if isinstance(body, str) else json.dumps(body)).encode()
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


def documented(document: dict, tool_name: str) -> tuple[str, str, dict]:
    """(method, path template, operation) of the document's operation whose operationId gives `tool_name`."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and snake(op.get("operationId", "")) == tool_name:
                return method.upper(), path, op
    raise AssertionError(f"no operation for {tool_name}")


def test_the_installed_petstore_sends_what_the_document_describes_for_every_tool(petstore, tmp_path) -> None:
    spec, document = petstore["spec"], petstore["document"]
    bin_dir = npm_install_global(petstore["result"].tgz, tmp_path / "prefix")
    api = StandIn()
    env = {"PETSTORE_BASE_URL": f"{api.url}/v2", "PETSTORE_API_KEY": KEY, "PETSTORE_PETSTORE_AUTH_TOKEN": TOKEN}
    calls = [(tool, tool.examples[0]) for tool in spec.tools]

    async def run_all() -> list[Any]:
        results = []
        params = StdioServerParameters(command=str(bin_dir / "petstore"), env=env)
        async with Client(params) as client:
            for tool, example in calls:
                api.reply = (example.upstream.status, example.upstream.body)
                results.append(await client.call_tool(tool.name, example.input))
        return results

    try:
        results = anyio.run(run_all)
    finally:
        api.server.shutdown()
    assert len(api.requests) == len(calls) == len(spec.tools)
    for (tool, example), result, request in zip(calls, results, api.requests):
        method, template, op = documented(document, tool.name)
        assert not result.is_error, (tool.name, result.content)
        assert request["method"] == method, tool.name
        pattern = "/v2" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        assert re.match(pattern, request["path"]), (tool.name, request["path"], template)
        # Credentials: what the document's security requirement names, and nothing else.
        schemes = {name for requirement in op.get("security", []) for name in requirement}
        assert (request["headers"].get("api_key") == KEY) == ("api_key" in schemes), tool.name
        bearer = request["headers"].get("authorization") == f"Bearer {TOKEN}"
        assert bearer == ("petstore_auth" in schemes and "api_key" not in schemes), tool.name
        # Query and path values: each documented parameter the example gave is where the document puts it.
        for param in op.get("parameters", []):
            given = example.input.get(param["name"])
            if given is None:
                continue
            text = given if isinstance(given, str) else json.dumps(given)
            if param["in"] == "query":
                assert request["query"].get(param["name"]) == [text], (tool.name, param["name"])
            elif param["in"] == "path":
                assert f"/{urllib.parse.quote(text, safe='')}" in request["path"], (tool.name, param["name"])
            elif param["in"] == "header" and param["name"] not in schemes:
                assert request["headers"].get(param["name"].lower()) == text, (tool.name, param["name"])
        if tool.implementation.body_input:  # an array body: the input is the whole body
            assert json.loads(request["body"]) == example.input[tool.implementation.body_input], tool.name
        elif tool.implementation.body == "json":
            assert request["headers"]["content-type"] == "application/json"
            sent = json.loads(request["body"])
            given = {k: v for k, v in example.input.items() if k not in tool.implementation.placeholders()}
            defaults = {k: p.default for k, p in tool.input.items() if k not in given and p.default is not None}
            assert sent == {**given, **defaults}, tool.name  # what was given, and the documented defaults
        else:
            assert request["body"] is None, tool.name


def test_specific_petstore_calls_arrive_as_the_api_expects(petstore, tmp_path) -> None:
    bin_dir = npm_install_global(petstore["result"].tgz, tmp_path / "prefix")
    api = StandIn()
    env = {"PETSTORE_BASE_URL": f"{api.url}/v2", "PETSTORE_API_KEY": KEY, "PETSTORE_PETSTORE_AUTH_TOKEN": TOKEN}
    calls = [
        ("login_user", {"username": "ann", "password": "p w&x"}, (200, '"token-1"')),
        ("update_user", {"path_username": "ann", "username": "ann2", "email": "a@example.com"}, (200, "")),
        ("get_pet_by_id", {"petId": 7}, (404, {"message": "Pet not found"})),
    ]

    async def run_all() -> list[Any]:
        async with Client(StdioServerParameters(command=str(bin_dir / "petstore"), env=env)) as client:
            results = []
            for name, args, reply in calls:
                api.reply = reply
                results.append(await client.call_tool(name, args))
            return results

    try:
        login, update, missing = anyio.run(run_all)
    finally:
        api.server.shutdown()
    first, second, third = api.requests
    assert (first["method"], first["path"], first["query"]) == (
        "GET", "/v2/user/login", {"username": ["ann"], "password": ["p w&x"]},
    )  # fmt: skip
    assert not login.is_error and "token-1" in login.content[0].text
    assert (second["method"], second["path"]) == ("PUT", "/v2/user/ann")
    assert json.loads(second["body"]) == {"username": "ann2", "email": "a@example.com"} and not update.is_error
    assert (third["path"], third["headers"]["api_key"]) == ("/v2/pet/7", KEY)
    assert missing.is_error and "HTTP 404" in missing.content[0].text


def test_githubs_description_is_read_whole_and_a_chosen_subset_of_issues_builds(tmp_path: Path) -> None:
    source = str(openapi_file())
    started = time.perf_counter()
    with pytest.raises(TooManyOperations) as everything:
        import_openapi(source)
    print(f"GitHub's description: read and counted in {time.perf_counter() - started:.2f} s")  # a figure, no assertion
    assert re.search(r"\d{4} of its \d{4} operations match", str(everything.value))
    with pytest.raises(TooManyOperations) as issues:
        import_openapi(source, ImportOptions(filters=Filters(tags=("issues",))))
    assert "58 of its" in str(issues.value) and "issues (58)" in str(issues.value) and "--include" in issues.value.hint
    chosen = import_openapi(
        source,
        ImportOptions(
            filters=Filters(tags=("issues",), include=("issues/list*",)),
            name="github-issues",
            bearer_env="GITHUB_TOKEN",
        ),
    )
    assert len(chosen.spec.tools) == chosen.report.matched == 19
    assert "issues_list_for_repo" in {t.name for t in chosen.spec.tools}
    # GitHub's description names no security scheme; the token the user passes in goes with every call.
    assert {t.implementation.headers["Authorization"] for t in chosen.spec.tools} == {"Bearer ${GITHUB_TOKEN}"}
    build(chosen.spec, tmp_path)


HOSTILE = "Ends the comment */ and the string \"'` with ${process.env.HOME} `; process.exit(1); //"


def test_a_server_from_a_hostile_document_builds_and_lists_the_text_exactly(tmp_path: Path) -> None:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Hostile", "version": "1", "description": HOSTILE},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/x": {
                "get": {
                    "operationId": "x",
                    "summary": "Hostile",
                    "description": HOSTILE,
                    "parameters": [{"name": "q", "in": "query", "description": HOSTILE, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"a": {"type": "string", "description": HOSTILE}}}}}}},
                }
            }
        },
    }  # fmt: skip
    (tmp_path / "hostile.json").write_text(json.dumps(doc))
    spec = import_openapi(str(tmp_path / "hostile.json")).spec
    # The protocol check compares every listed description with the spec's, character for character.
    build(spec, tmp_path / "out")


# Documents of @readme/oas-examples that are refused, and why: each is a typed refusal with a hint, never a crash.
REFUSED = {
    "2.0/json/api-with-examples.json": "names no server",  # relative: needs --base-url
    "3.0/json/callbacks.json": "names no server",
    "3.0/json/link-example.json": "names no server",
    "3.0/json/http-status-codes.json": "89 of its 89 operations match",
    "3.0/json/star-trek.json": "120 of its 120 operations match",
    "3.1/json/readme.json": "54 of its 54 operations match",
    "3.0/json/response-http-behavior.json": "'api_key' is not defined",  # its security names no scheme
    "3.0/json/schema-deprecated.json": "1 deprecated",
    "3.1/json/webhooks.json": "no operation matches (of 0)",
}


# Operations each importable document leaves out (deprecated ones aside), each listed with its reason in the
# report: multipart and urlencoded uploads, matrix/label/array path parameters, two schemes on one header,
# mutual TLS, relative servers, over-deep, untyped or impossible (allOf of two types) bodies. Fewer is progress; more is a regression.
LEFT_OUT = {
    "2.0/json/petstore-simple.json": 1,
    "2.0/json/petstore.json": 2,
    "3.0/json/discriminators.json": 1,
    "3.0/json/parameters-style.json": 7,
    "3.0/json/readme-legacy.json": 3,
    "3.0/json/request-examples.json": 1,
    "3.0/json/schema-circular.json": 1,
    "3.0/json/schema-types.json": 2,  # allOf: [string, integer] bodies: no value is both
    "3.0/json/security-multiple.json": 1,
    "3.0/json/server-path-level.json": 2,
    "3.1/json/parameters-style.json": 7,
    "3.1/json/schema-types.json": 2,
    "3.1/json/security.json": 1,  # mutualTLS (its API key in the query maps)
}
TOOLS = 350  # over the 51 importable documents (339 before header, cookie and whole-body inputs, 348 before
# API keys in the query)


def oas_documents() -> list[str]:
    root = Path(oas_example("3.0")).parent
    return sorted(path.relative_to(root).as_posix() for path in root.glob("*/json/*.json"))


# What the user does after such a refusal, as its hint says: a base URL for a relative document, a narrower
# selection for a large one, --include-deprecated for one that only has deprecated operations. Those builds
# must then pass; the other refusals (a document that names an undefined scheme, one with only webhooks) stay.
AS_HINTED = {
    "2.0/json/api-with-examples.json": {"base_url": "https://api.example.com"},
    "3.0/json/callbacks.json": {"base_url": "https://api.example.com"},
    "3.0/json/link-example.json": {"base_url": "https://api.example.com"},
    "3.0/json/http-status-codes.json": {"filters": Filters(tags=("Client error responses",))},
    "3.0/json/star-trek.json": {"filters": Filters(tags=("Animal", "Book", "Character", "Spacecraft"))},
    "3.1/json/readme.json": {"filters": Filters(tags=("APIs", "Categories", "API Keys", "Branches", "Recipes"))},
    "3.0/json/schema-deprecated.json": {"filters": Filters(include_deprecated=True)},
}


def import_document(key: str, **options: Any):
    """(the import of one oas-examples document, as `factory-bot import openapi` makes it, or its refusal)."""
    name = "oas-" + re.sub(r"[^a-z0-9]+", "-", key.lower().replace("/json/", "-").removesuffix(".json"))
    try:
        return import_openapi(oas_example(key), ImportOptions(max_tools=50, name=name, **options)), None
    except OpenAPIError as exc:
        return None, exc


def test_the_oas_examples_refuse_only_the_documents_listed_with_their_reasons() -> None:
    keys = oas_documents()
    imports = {key: import_document(key) for key in keys}
    refused = {key: str(exc) for key, (result, exc) in imports.items() if exc is not None}
    assert {key: next((m for m in [REFUSED.get(key, "?")] if m in refused[key]), refused[key]) for key in refused} == (
        REFUSED
    )
    assert len(keys) - len(refused) >= 51
    results = [(key, result) for key, (result, _) in imports.items() if result is not None]
    left_out = {
        key: len([reason for _, reason in r.report.skipped if not reason.startswith("deprecated")])
        for key, r in results
    }
    assert {key: n for key, n in left_out.items() if n} == LEFT_OUT
    assert sum(len(r.spec.tools) for _, r in results) == TOOLS


@pytest.mark.parametrize("key", oas_documents())
def test_each_document_of_the_oas_examples_imports_builds_and_validates_or_is_refused_with_its_reason(
    key: str, tmp_path: Path
) -> None:
    """Every document: imported, then built and validated (each example's request checked by the stub)."""
    result, refusal = import_document(key)
    options = AS_HINTED.get(key, {})
    if refusal is not None:
        assert key in REFUSED and REFUSED[key] in str(refusal) and refusal.hint, (key, str(refusal))
        if not options:
            return
        result, refusal = import_document(key, **options)
        assert refusal is None, (key, str(refusal))
    twin = Path(oas_example(key.replace("/json/", "/yaml/").replace(".json", ".yaml")))
    if twin.exists():  # the YAML edition of a document (its texts differ a little) gives the same tools
        from_yaml = import_openapi(str(twin), ImportOptions(max_tools=50, name=result.spec.name, **options)).spec
        assert [t.name for t in from_yaml.tools] == [t.name for t in result.spec.tools], key
    built = build(result.spec, tmp_path)
    assert sum(c.name == "examples" for c in built.report.checks) == len(result.spec.tools)
