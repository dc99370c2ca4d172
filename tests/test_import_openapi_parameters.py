"""Parameters and credentials an OpenAPI document declares beyond the mapping rules' document: bearer tokens,
header and cookie parameters, unions of scalars, and API keys in the query. Each test writes the document it needs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi import ImportOptions, import_openapi
from factory_bot.spec.loader import dump_spec, load_spec_text
from tests.import_openapi_support import imported


def test_a_bearer_token_can_be_declared_for_a_document_that_names_no_security(tmp_path):
    op = {"responses": {"204": {"description": "ok"}}}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Open", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
        "paths": {"/open": {"get": {"operationId": "open", **op}}, "/keyed": {"get": {"operationId": "keyed", "security": [{"key": []}], **op}}},
    }  # fmt: skip
    (tmp_path / "open.json").write_text(json.dumps(doc))
    assert imported(str(tmp_path / "open.json")).spec.tools[0].implementation.headers == {}
    result = import_openapi(str(tmp_path / "open.json"), ImportOptions(bearer_env="OPEN_TOKEN"))
    headers = {t.name: t.implementation.headers for t in result.spec.tools}
    assert headers == {"open": {"Authorization": "Bearer ${OPEN_TOKEN}"}, "keyed": {"X-Key": "${OPEN_KEY}"}}
    assert {e.name: e.secret for e in result.spec.env} == {"OPEN_TOKEN": True, "OPEN_KEY": True}
    with pytest.raises(OpenAPIError, match="not an env var name"):
        import_openapi(str(tmp_path / "open.json"), ImportOptions(bearer_env="open-token"))


def test_the_cli_takes_a_bearer_env(tmp_path):
    doc = {"openapi": "3.0.3", "info": {"title": "Open", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
           "paths": {"/open": {"get": {"operationId": "open", "responses": {"204": {"description": "ok"}}}}}}  # fmt: skip
    (tmp_path / "open.json").write_text(json.dumps(doc))
    out = tmp_path / "spec.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "factory_bot", "import", "openapi", str(tmp_path / "open.json"), "--bearer-env", "MY_TOKEN", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    spec = load_spec_text(out.read_text())
    assert spec.tools[0].implementation.headers == {"Authorization": "Bearer ${MY_TOKEN}"}
    assert [(e.name, e.secret) for e in spec.env] == [("MY_TOKEN", True)]


def test_a_header_or_cookie_parameter_with_one_documented_value_is_sent_as_that_constant(tmp_path):
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Versioned", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/things": {
                "get": {
                    "operationId": "listThings",
                    "parameters": [
                        {"name": "X-Api-Version", "in": "header", "required": True,
                         "schema": {"type": "string", "default": "2022-11-28"}},
                        {"name": "lang", "in": "cookie", "schema": {"type": "string", "enum": ["en"]}},
                        {"name": "X-Evil", "in": "header", "schema": {"type": "string", "enum": ["${HOME}"]}},
                    ],
                    "responses": {"204": {"description": "none"}},
                },
                "post": {
                    "operationId": "makeThing",
                    "parameters": [{"name": "X-Request-Id", "in": "header", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "none"}},
                },
            }
        },
    }  # fmt: skip
    (tmp_path / "versioned.json").write_text(json.dumps(doc))
    result = imported(str(tmp_path / "versioned.json"))
    listed, made = result.spec.tools
    assert listed.implementation.headers == {"X-Api-Version": "2022-11-28", "Cookie": "lang=en"}
    assert listed.examples[0].request.headers == {"x-api-version": "2022-11-28", "cookie": "lang=en"}
    notes = [note for _, note in result.report.notes]
    assert any("X-Api-Version is always sent as '2022-11-28'" in n for n in notes)
    assert any("left out the optional header parameter X-Evil" in n for n in notes)  # `${` is never a literal
    # A header that takes the caller's value is an input.
    assert made.implementation.headers == {"X-Request-Id": "{x_request_id}"} and not made.input["x_request_id"].optional


def test_a_union_of_scalars_in_the_path_or_query_is_a_text_input_and_in_a_body_an_any_of(tmp_path):
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Unions", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/items/{id}": {
                "put": {
                    "operationId": "putItem",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True,
                         "schema": {"oneOf": [{"type": "string"}, {"type": "integer"}], "description": "Id or slug."}},
                        {"name": "limit", "in": "query", "schema": {"type": ["integer", "string", "null"]}},
                    ],
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                        "size": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                        "name": {"type": "string"}}}}}},
                    "responses": {"204": {"description": "none"}},
                }
            }
        },
    }  # fmt: skip
    (tmp_path / "unions.json").write_text(json.dumps(doc))
    result = imported(str(tmp_path / "unions.json"))
    [put] = result.spec.tools
    assert (
        put.input["id"].type == "string" and put.input["id"].description == "Id or slug. An integer or string, as text."
    )
    assert put.input["limit"].type == "string" and put.input["limit"].optional
    # In the JSON body 5 and "5" differ: the input is a union (anyOf) and sends what the caller gives.
    assert [choice.type for choice in put.input["size"].anyOf] == ["string", "number"] and put.input["size"].optional
    assert put.input["size"].json_schema() == {"type": ["string", "number"]}  # as zod 4 spells it
    notes = [note for _, note in result.report.notes]
    assert any("the path parameter id: an integer or string value is taken as text" in n for n in notes)
    assert not any("size" in n for n in notes)


def test_a_cookie_parameter_is_an_input_and_headers_http_sets_or_unsendable_examples_are_not_used(tmp_path):
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Jar", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/jar": {
                "get": {
                    "operationId": "openJar",
                    "parameters": [
                        {"name": "session", "in": "cookie", "required": True, "schema": {"type": "string"},
                         "example": "a b;c"},
                        {"name": "X-Name", "in": "header", "required": True, "schema": {"type": "string"},
                         "example": "naïve"},
                        {"name": "Content-Length", "in": "header", "schema": {"type": "integer"}},
                    ],
                    "responses": {"204": {"description": "none"}},
                }
            }
        },
    }  # fmt: skip
    (tmp_path / "jar.json").write_text(json.dumps(doc))
    result = imported(str(tmp_path / "jar.json"))
    [jar] = result.spec.tools
    assert jar.implementation.cookies == {"session": "{session}"} and set(jar.input) == {"session", "x_name"}
    # The documented examples would be refused at call time (a space and `;` in a cookie, a non-ASCII header):
    # the example makes values the runtime sends, and its request says so.
    assert jar.examples[0].input == {"session": "example", "x_name": "example"}
    assert jar.examples[0].request.headers == {"cookie": "session=example", "x-name": "example"}
    notes = [note for _, note in result.report.notes]
    assert any("Content-Length, which HTTP itself sets" in note for note in notes)


def test_an_api_key_in_the_query_is_a_secret_env_var_sent_as_a_query_value_and_the_example_proves_it(tmp_path):
    reply = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
    key = {"type": "apiKey", "in": "query", "name": "appid", "description": "Your key."}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Weather", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "components": {"securitySchemes": {"key": key, "trace": {"type": "apiKey", "in": "header", "name": "X-Trace"}}},
        "security": [{"key": [], "trace": []}],
        "paths": {"/weather": {"get": {"operationId": "weather", "responses": reply, "parameters": [
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}, "example": "Oslo"},
            {"name": "appid", "in": "query", "schema": {"type": "string"}},
        ]}}},
    }  # fmt: skip
    (tmp_path / "weather.json").write_text(json.dumps(doc))
    result = imported(str(tmp_path / "weather.json"))
    [weather] = result.spec.tools
    assert weather.implementation.query == {"q": "{q}", "appid": "${WEATHER_KEY}"}
    assert weather.implementation.headers == {"X-Trace": "${WEATHER_TRACE_KEY}"}
    assert {e.name: e.secret for e in result.spec.env} == {"WEATHER_KEY": True, "WEATHER_TRACE_KEY": True}
    # The document's own `appid` parameter would be overwritten by the key: it is no input, and the report says so.
    assert set(weather.input) == {"q"}
    assert any("left out the query parameter appid" in note for _, note in result.report.notes), result.report.notes
    assert weather.examples[0].request.query == {"q": "Oslo", "appid": "${WEATHER_KEY}"}
    assert load_spec_text(dump_spec(result.spec)).tools[0].implementation.query == weather.implementation.query
