"""Hostile OpenAPI documents: text that tries to break out of the generated TypeScript, Trojan Source, ten
thousand operations, deep nesting, YAML bombs, and `$ref`s or sources that would make the import fetch from
this machine (SSRF). Each gets a clear, located refusal, or is carried safely through the spec."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi import ImportOptions, TooManyOperations, import_openapi
from factory_bot.importers.openapi.operations import Filters

HOSTILE_TEXT = "*/ }); process.exit(1); /* `${process.env.HOME}` </script> \\u0000 ' \" \\"


def document(paths: dict, **extra) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Hostile", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        **extra,
    }


def write(tmp_path: Path, doc: dict, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def one_operation(**operation) -> dict:
    return {"/things": {"get": {"operationId": "getThings", "responses": {"204": {"description": "ok"}}, **operation}}}


def test_descriptions_that_would_close_comments_or_strings_reach_the_spec_as_plain_text(tmp_path):
    doc = document(
        one_operation(
            summary=HOSTILE_TEXT,
            description=HOSTILE_TEXT,
            parameters=[{"name": "q", "in": "query", "description": HOSTILE_TEXT, "schema": {"type": "string"}}],
        )
    )
    result = import_openapi(write(tmp_path, doc))
    tool = result.spec.tools[0]
    assert HOSTILE_TEXT in tool.description and tool.input["q"].description == HOSTILE_TEXT
    # The renderer's one escaping filter is what carries it into TypeScript: string literals, nothing else.
    from factory_bot.build.render import render_server
    from factory_bot.text import js

    source = render_server(result.spec)["src/tools/get_things.ts"]
    assert js(HOSTILE_TEXT) in source
    outside_strings = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', source)
    assert "process.exit" not in outside_strings and "${process" not in outside_strings


def test_a_bidirectional_control_in_a_description_is_refused_and_located(tmp_path):
    doc = document(one_operation(description="Lists things\u202e and deletes them"))
    with pytest.raises(OpenAPIError) as refused:
        import_openapi(write(tmp_path, doc))
    message = str(refused.value)
    assert "U+202E" in message and "paths./things.get.description" in message and "\u202e" not in message
    assert refused.value.exit_code == 2 and "Trojan Source" in message


def test_zero_width_characters_are_dropped_from_descriptions(tmp_path):
    doc = document(one_operation(description="Lists\u200b things\ufeff"))
    assert import_openapi(write(tmp_path, doc)).spec.tools[0].description == "Lists things"


def test_ten_thousand_operations_are_counted_and_refused_with_how_to_narrow(tmp_path):
    paths = {
        f"/t/{i}": {
            "get": {"operationId": f"op{i}", "tags": [f"tag{i % 7}"], "responses": {"204": {"description": "ok"}}}
        }
        for i in range(10_000)
    }
    source = write(tmp_path, document(paths))
    with pytest.raises(TooManyOperations) as refused:
        import_openapi(source)
    assert "10000 of its 10000 operations match" in str(refused.value) and "--include" in refused.value.hint
    narrowed = import_openapi(source, ImportOptions(filters=Filters(include=("op12?",))))
    assert [t.name for t in narrowed.spec.tools] == [f"op12{i}" for i in range(10)]


def nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "required": ["inner"], "properties": {"inner": schema}}
    return schema


def test_a_schema_nested_50_deep_is_left_out_with_its_reason(tmp_path):
    doc = document(
        {
            "/deep": {
                "post": {
                    "operationId": "deep",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": nested(50)}}},
                    "responses": {"204": {"description": "ok"}},
                }
            },
            "/fine": {"get": {"operationId": "fine", "responses": {"204": {"description": "ok"}}}},
        }
    )
    result = import_openapi(write(tmp_path, doc))
    assert [t.name for t in result.spec.tools] == ["fine"]
    assert "nests deeper than 5 levels" in dict(result.report.skipped)["POST /deep (deep)"]


def test_a_document_nested_thousands_deep_is_refused_before_it_is_walked(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "deep.json").write_text('{"openapi": "3.0.0", "x": ' + deep + "}")
    with pytest.raises(OpenAPIError, match="nests deeper than 200 levels"):
        import_openapi(str(tmp_path / "deep.json"))
    (tmp_path / "deep.yaml").write_text("openapi: 3.0.0\nx: " + deep + "\n")
    with pytest.raises(OpenAPIError, match="nests deeper than 200 levels"):
        import_openapi(str(tmp_path / "deep.yaml"))


def test_a_yaml_bomb_is_refused(tmp_path):
    lines = ["openapi: 3.0.0", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(OpenAPIError, match="YAML alias"):
        import_openapi(str(tmp_path / "bomb.yaml"))


class _Recorder:
    """A local HTTP server that counts the requests it gets (the import must make none)."""

    def __enter__(self):
        self.hits: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                recorder.hits.append(self.path)
                payload = json.dumps({"type": "string"}).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_remote_ref_to_a_loopback_address_is_refused_and_nothing_is_fetched(tmp_path):
    with _Recorder() as upstream:
        schema = {"$ref": f"{upstream.url}/schema.json"}
        doc = document(
            {
                "/x": {
                    "get": {
                        "operationId": "x",
                        "responses": {
                            "200": {"description": "ok", "content": {"application/json": {"schema": schema}}}
                        },
                    }
                }
            }
        )
        for allow in (False, True):
            with pytest.raises(OpenAPIError) as refused:
                import_openapi(write(tmp_path, doc), ImportOptions(allow_remote_refs=allow))
            assert "loopback" in str(refused.value) and "SSRF" in refused.value.hint
        assert upstream.hits == []


def test_a_remote_ref_is_refused_unless_allowed(tmp_path):
    schema = {"$ref": "https://schemas.example.com/thing.json"}
    doc = document(
        {
            "/x": {
                "get": {
                    "operationId": "x",
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}},
                }
            }
        }
    )
    with pytest.raises(OpenAPIError) as refused:
        import_openapi(write(tmp_path, doc))
    assert "refusing the remote $ref https://schemas.example.com/thing.json" in str(refused.value)
    assert "--allow-remote-refs" in refused.value.hint


def test_a_ref_to_a_file_outside_the_documents_directory_is_refused(tmp_path):
    (tmp_path / "secret.json").write_text(json.dumps({"type": "string"}))
    (tmp_path / "api").mkdir()
    schema = {"$ref": "../secret.json"}
    doc = document(
        {
            "/x": {
                "get": {
                    "operationId": "x",
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}},
                }
            }
        }
    )
    with pytest.raises(OpenAPIError, match="outside the document's directory"):
        import_openapi(write(tmp_path / "api", doc))


def test_a_ref_to_a_file_beside_the_document_resolves(tmp_path):
    (tmp_path / "schemas.json").write_text(
        json.dumps({"Thing": {"type": "object", "properties": {"name": {"type": "string"}}}})
    )
    schema = {"$ref": "schemas.json#/Thing"}
    doc = document(
        {
            "/x": {
                "get": {
                    "operationId": "x",
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}},
                }
            }
        }
    )
    output = import_openapi(write(tmp_path, doc)).spec.tools[0].output
    assert output is not None and output.properties["name"].type == "string"


def test_a_url_source_is_read_only_when_asked_and_never_from_this_machine(tmp_path):
    with _Recorder() as upstream:
        with pytest.raises(OpenAPIError, match="--allow-url"):
            import_openapi(f"{upstream.url}/openapi.json")
        with pytest.raises(OpenAPIError, match="loopback"):
            import_openapi(f"{upstream.url}/openapi.json", ImportOptions(allow_url=True))
        with pytest.raises(OpenAPIError, match="loopback"):
            import_openapi("http://localhost:1/openapi.json", ImportOptions(allow_url=True))
        assert upstream.hits == []


def test_a_document_that_is_not_openapi_is_refused_with_what_it_reads(tmp_path):
    with pytest.raises(OpenAPIError, match="is not OpenAPI 3.0, 3.1 or Swagger 2.0"):
        import_openapi(write(tmp_path, {"asyncapi": "2.0.0", "paths": {}}))


def test_an_import_that_would_exceed_the_spec_size_limit_is_refused_with_how_to_narrow(tmp_path):
    long = "word " * 790  # just under the 4,000 characters a description may hold
    params = [{"name": f"p{i}", "in": "query", "description": long, "schema": {"type": "string"}} for i in range(20)]
    paths = {
        f"/t/{i}": {"get": {"operationId": f"op{i}", "description": long, "parameters": params,
                            "responses": {"204": {"description": "ok"}}}}
        for i in range(5)
    }  # fmt: skip
    with pytest.raises(OpenAPIError) as refused:
        import_openapi(write(tmp_path, document(paths)))
    assert "a spec holds 262144" in str(refused.value) and "--include" in refused.value.hint


def test_a_public_url_that_redirects_to_this_machine_is_refused_at_the_redirect(tmp_path, monkeypatch):
    from factory_bot.importers.openapi import source as source_module

    with _Recorder() as target:

        class Redirect(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(302)
                self.send_header("location", f"{target.url}/openapi.json")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        public = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        threading.Thread(target=public.serve_forever, daemon=True).start()
        public_url = f"http://127.0.0.1:{public.server_address[1]}/openapi.json"
        real = source_module.refuse_private_address
        # No network here: the first server stands in for a public host (its check is waived), the redirect
        # target is checked for real.
        monkeypatch.setattr(
            source_module,
            "refuse_private_address",
            lambda url, where, **kw: None if url == public_url else real(url, where, **kw),
        )
        try:
            with pytest.raises(OpenAPIError, match="loopback"):
                import_openapi(public_url, ImportOptions(allow_url=True))
        finally:
            public.shutdown()
            public.server_close()
        assert target.hits == []


def test_refs_inside_a_referenced_file_resolve_against_that_file(tmp_path):
    (tmp_path / "b.json").write_text(
        json.dumps(
            {
                "Thing": {
                    "type": "object",
                    "properties": {"part": {"$ref": "#/Part"}, "other": {"$ref": "c.json#/Other"}},
                },
                "Part": {"type": "object", "properties": {"n": {"type": "integer"}}},
            }
        )
    )
    (tmp_path / "c.json").write_text(json.dumps({"Other": {"type": "string", "enum": ["x"]}}))
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "b.json#/Thing"}}}}
    doc = document(
        {"/t": {"post": {"operationId": "t", "requestBody": body, "responses": {"204": {"description": "ok"}}}}}
    )
    inputs = import_openapi(write(tmp_path, doc)).spec.tools[0].input
    assert inputs["part"].properties["n"].type == "integer" and inputs["other"].enum == ["x"]
