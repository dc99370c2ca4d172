"""Imported examples say which request the server must send, and validation's stub API holds the server to it.

Every example of an imported tool carries `request: {method, path, query, headers, body}` worked out from the
document; the stub records what the built server sent and validation fails the example when it differs, naming
the tool and the difference. A hand-written spec can say `request:` too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory_bot.build.pipeline import build_many
from factory_bot.build.request_check import request_problems
from factory_bot.importers.openapi import ImportOptions, import_openapi
from factory_bot.importers.openapi.operations import Filters
from factory_bot.spec.loader import load_spec_text
from factory_bot.spec.requests import ExpectedRequest
from tests.import_openapi_support import MAPPING, oas_example

PETSTORE = "3.0/json/petstore.json"


def petstore(*include: str):
    options = ImportOptions(name="petstore", filters=Filters(include=include) if include else Filters())
    return import_openapi(oas_example(PETSTORE), options).spec


def test_every_imported_example_names_the_documented_method_path_query_and_body():
    document = json.loads(Path(oas_example(PETSTORE)).read_text())
    spec = petstore()
    by_id = {
        op["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    for tool in spec.tools:
        method, template = next(v for k, v in by_id.items() if tool.name == k.lower() or _snake(k) == tool.name)
        for example in tool.examples:
            request = example.request
            assert request is not None and request.method == method, tool.name
            assert request.path.count("/") == template.count("/") and "{" not in request.path, tool.name
            assert request.checks_body
    find = next(t for t in spec.tools if t.name == "find_pets_by_status")
    assert find.examples[0].request.query == {"status": "available"}  # the default zod fills in
    login = next(t for t in spec.tools if t.name == "get_pet_by_id")
    assert login.examples[0].request.headers == {"api_key": "${PETSTORE_API_KEY}"}
    assert login.examples[0].request.body is None  # a GET sends no body, and the example checks that


def _snake(name: str) -> str:
    from factory_bot.importers.openapi.texts import snake

    return snake(name)


def test_an_omitted_input_with_a_default_is_expected_in_the_request_as_zod_fills_it():
    spec = import_openapi(MAPPING, ImportOptions(filters=Filters(include=("list_items",)))).spec
    [tool] = spec.tools
    defaulted = {name: p.default for name, p in tool.input.items() if p.default is not None}
    request = tool.examples[0].request
    assert defaulted and all(str(request.query[name]).lower() == str(v).lower() for name, v in defaulted.items())


def sent(method="GET", target="/pets?limit=1", headers=None, body=""):
    return {"method": method, "path": target, "headers": headers or {}, "body": body}


def test_the_check_names_each_difference_and_hides_env_values():
    expected = ExpectedRequest(
        method="POST", path="/pets/a%20b", query={"limit": "1"}, headers={"X-Key": "${KEY}"}, body={"name": "rex"}
    )
    env = {"KEY": "secret-123"}
    ok = sent(  # %62 is b: the same path
        "POST", "/pets/a%20%62?limit=1", {"x-key": "secret-123"}, '{"name": "rex"}'
    )
    assert request_problems(expected, ok, env) == []
    wrong = sent("PUT", "/pets/ab?max=1", {"X-Key": "secret-1234"}, '{"name": "rex", "id": 1}')
    problems = request_problems(expected, wrong, env)
    assert len(problems) == 5  # method, path, query, header, body
    text = "; ".join(problems)
    assert "expected POST" in text and "/pets/ab" in text and '{"max": "1"}' in text and '"id": 1' in text
    assert "secret-123" not in text and "${KEY}4" in text  # the secret shows as its name
    assert request_problems(ExpectedRequest(body=None), sent(body="{}"), {}) == ["sent a body, expected none: '{}'"]
    assert request_problems(ExpectedRequest(), sent(body="{}"), {}) == []  # a field left out is not checked


def test_a_request_is_only_for_http_tools():
    text = """
name: calc
version: 1.0.0
description: d
tools:
  - name: add
    description: d
    implementation: {kind: code, code: "return 1;"}
    examples:
      - request: {method: GET}
"""
    with pytest.raises(Exception, match="request only applies to http tools"):
        load_spec_text(text)


@pytest.mark.e2e
def test_a_wrong_mapping_fails_validation_naming_the_tool_and_the_difference(tmp_path: Path):
    spec = petstore("find_pets_by_status", "get_pet_by_id", "add_pet", "login_user")
    data = spec.model_dump(mode="json", exclude_unset=True)
    tools = {t["name"]: t for t in data["tools"]}
    tools["find_pets_by_status"]["implementation"]["query"] = {"state": "{status}"}  # the wrong query name
    tools["get_pet_by_id"]["implementation"]["path"] = "/pets/{petId}"  # the wrong path
    tools["add_pet"]["implementation"] |= {"headers": {}, "body": "none"}  # no credential, no body
    wrong = type(spec).model_validate(data)
    [result] = build_many([wrong], tmp_path, jobs=1, use_cache=False)
    failed = {c.tool: " ".join(c.details) for c in result.report.failures if c.name == "examples"}
    assert sorted(failed) == ["add_pet", "find_pets_by_status", "get_pet_by_id"]  # login_user is right
    assert 'sent the query {"state": "available"}, expected {"status": "available"}' in failed["find_pets_by_status"]
    assert "sent the path /pets/" in failed["get_pet_by_id"] and "expected /pet/" in failed["get_pet_by_id"]
    assert "sent no authorization header" in failed["add_pet"] and "sent no body, expected {" in failed["add_pet"]


def test_a_request_that_expects_no_body_says_so_in_the_yaml_and_keeps_saying_it():
    from factory_bot.spec.loader import dump_spec

    spec = petstore("get_pet_by_id")
    text = dump_spec(spec)
    assert "body: null" in text or "body:\n" in text
    assert load_spec_text(text).tools[0].examples[0].request.checks_body
