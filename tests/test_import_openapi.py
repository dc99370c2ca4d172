"""A maintainer imports an OpenAPI document and gets a spec of http tools: each mapping rule, one test.

The rules' document is tests/fixtures/openapi/mapping.yaml (one operation per rule); the Swagger 2.0 and 3.1
checks use the public Petstore documents of npm @readme/oas-examples. The parameters and credentials of
documents a test writes for itself are in tests/test_import_openapi_parameters.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi import ImportOptions, TooManyOperations, import_openapi
from factory_bot.spec.loader import dump_spec, load_spec_text
from tests.import_openapi_support import MAPPING, imported, oas_example, tool


def test_each_operation_becomes_one_tool_named_from_its_operation_id_or_method_and_path():
    result = imported()
    names = [t.name for t in result.spec.tools]
    assert names[:5] == ["list_items", "create_item", "get_items_by_item_id", "replace_item", "delete_item"]
    assert result.report.operations == 10 and result.report.matched == 9  # the deprecated one is not matched


def test_names_over_64_characters_are_cut_and_stay_unique():
    result = imported(include=("this*",))
    names = [t.name for t in result.spec.tools]
    assert len(names) == len(set(names)) == 2 and all(len(name) <= 64 for name in names)
    from factory_bot.importers.openapi.operations import Operation, tool_names

    long = "x" * 80
    ops2 = [Operation("GET", "/a", {"operationId": long}, {}), Operation("GET", "/b", {"operationId": long}, {})]
    named = tool_names(ops2)
    assert len(set(named.values())) == 2 and all(len(n) <= 64 for n in named.values())


def test_parameters_become_typed_inputs_with_enums_defaults_bounds_and_descriptions():
    listing = tool(imported(), "list_items")
    limit, kind = listing.input["limit"], listing.input["kind"]
    assert (limit.type, limit.default, limit.minimum, limit.maximum) == ("integer", 20, 1, 100)
    assert limit.description == "How many to return." and limit.optional
    assert kind.enum == ["a", "b"] and not kind.optional
    # A wire name that is no identifier gets an input name; the query keeps the wire name.
    assert listing.implementation.query == {"limit": "{limit}", "kind": "{kind}", "filter[name]": "{filter_name}"}
    # The parameter's own example; the optional header input is given too, so that validation proves it is sent.
    assert listing.examples[0].input == {"kind": "b", "x_trace": "example"}


def test_a_json_body_becomes_inputs_with_all_of_merged_and_read_only_fields_left_out():
    create = tool(imported(), "create_item")
    assert list(create.input) == ["name", "size"]  # id is readOnly; parent is circular (optional): left out
    assert create.input["name"].minLength == 1 and create.input["name"].maxLength == 80
    assert create.input["size"].enum == ["small", "large"] and create.input["size"].default == "small"
    assert create.implementation.body == "json"
    assert create.examples[0].input == {"name": "chair", "size": "large"}  # the body's example
    notes = dict(imported().report.notes)
    assert "circular" in notes["create_item"] or any("circular" in n for t, n in imported().report.notes)


def test_path_parameters_are_renamed_to_identifiers_and_clashes_with_body_fields_resolved(tmp_path):
    get = tool(imported(), "get_items_by_item_id")
    assert get.implementation.path == "/items/{item_id}" and get.input["item_id"].minimum == 1
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Users", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/users/{username}": {
                "put": {
                    "operationId": "updateUser",
                    "parameters": [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"username": {"type": "string"}}}
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    (tmp_path / "users.json").write_text(json.dumps(doc))
    update = tool(imported(str(tmp_path / "users.json")), "update_user")
    assert update.implementation.path == "/users/{path_username}" and set(update.input) == {"path_username", "username"}


def test_header_parameters_become_inputs_sent_in_their_header_and_the_example_proves_it():
    result = imported()
    listing = tool(result, "list_items")
    assert listing.input["x_trace"].type == "string" and listing.input["x_trace"].optional
    assert (
        listing.implementation.headers["X-Trace"] == "{x_trace}" and "x_trace" in listing.implementation.placeholders()
    )
    assert listing.examples[0].request.headers["x-trace"] == "example"
    # POST /shapes needs a Session header: the operation is mapped, the header is a required input.
    shapes = next(t for t in result.spec.tools if "Session" in t.input)
    assert not shapes.input["Session"].optional and shapes.implementation.headers["Session"] == "{Session}"
    assert shapes.examples[0].request.headers["session"] == shapes.examples[0].input["Session"]
    assert not any("Session" in reason for _, reason in result.report.skipped)


def test_an_array_json_body_is_one_input_sent_as_the_whole_body():
    result = imported(oas_example("3.0/json/petstore.json"), include=("createUsersWithListInput",), name="petstore")
    [create] = result.spec.tools
    assert create.implementation.body == "json" and create.implementation.body_input == "body"
    body = create.input["body"]
    assert body.type == "array" and body.items.type == "object" and "username" in body.items.properties
    [call, *_] = create.examples
    assert isinstance(call.input["body"], list) and call.request.body == call.input["body"]


def test_the_success_reply_schema_becomes_the_output_and_a_nullable_field_stays_nullable():
    result = imported()
    listing = tool(result, "list_items")
    assert (
        listing.output.type == "object" and listing.output.properties["items"].items.properties["name"].type == "string"
    )
    assert listing.examples[0].upstream.body == {"items": [{"name": "first"}]}  # the documented reply
    assert listing.examples[1].upstream.status == 404 and listing.examples[1].error == "HTTP 404"
    # `nullable: true` is kept: the output says "a string or null", as the API does (zod's `.nullable()`).
    note = tool(result, "get_items_by_item_id").output.properties["note"]
    assert note.type == "string" and note.nullable
    assert note.json_schema() == {"type": ["string", "null"]}
    assert not any("null" in note for t, note in result.report.notes if t == "get_items_by_item_id")


def test_security_schemes_become_secret_env_vars_and_header_templates():
    result = imported()
    env = {e.name: e for e in result.spec.env}
    assert all(e.secret for e in env.values())
    headers = {t.name: t.implementation.headers for t in result.spec.tools}
    assert headers["list_items"] == {
        "X-Trace": "{x_trace}",
        "Authorization": "Bearer ${MAPPING_RULES_API_BEARER_TOKEN}",
    }
    # The first alternative, an API key in the query, is sent as a query value from the environment.
    assert headers["create_item"] == {}
    assert tool(result, "create_item").implementation.query == {"api_key": "${MAPPING_RULES_API_QUERY_KEY}"}
    assert headers["get_items_by_item_id"] == {"Cookie": "session=${MAPPING_RULES_API_COOKIE_KEY}"}
    assert headers["replace_item"] == {"Authorization": "Basic ${MAPPING_RULES_API_BASIC_CREDENTIALS}"}
    assert headers["delete_item"] == {"Authorization": "Bearer ${MAPPING_RULES_API_OAUTH_TOKEN}"}
    assert "clientCredentials" in env["MAPPING_RULES_API_OAUTH_TOKEN"].description


def test_servers_with_variables_become_the_base_url_and_a_relative_one_needs_base_url(tmp_path):
    result = imported()
    assert {t.implementation.base_url for t in result.spec.tools} == {"https://eu.api.example.com/v2"}
    doc = {"openapi": "3.1.0", "info": {"title": "R", "version": "1"}, "servers": [{"url": "/api"}],
           "paths": {"/ping": {"get": {"responses": {"204": {"description": "pong"}}}}}}  # fmt: skip
    (tmp_path / "relative.json").write_text(json.dumps(doc))
    with pytest.raises(OpenAPIError, match="pass --base-url"):
        imported(str(tmp_path / "relative.json"))
    fixed = imported(str(tmp_path / "relative.json"), base_url="https://api.example.com/api")
    assert fixed.spec.tools[0].implementation.base_url == "https://api.example.com/api"


def test_annotations_follow_the_method():
    result = imported()
    hints = {t.name: t.annotations for t in result.spec.tools}
    assert hints["list_items"].readOnlyHint is True
    assert hints["create_item"].readOnlyHint is False and hints["create_item"].destructiveHint is False
    assert hints["replace_item"].idempotentHint is True and hints["replace_item"].destructiveHint is True
    assert hints["delete_item"].destructiveHint is True


def test_deprecated_operations_are_left_out_unless_included():
    assert any("deprecated" in reason for _, reason in imported().report.skipped)
    with_it = imported(include_deprecated=True)
    assert any("legacyReport" in op and "XML" in reason for op, reason in with_it.report.skipped)


def test_what_cannot_be_mapped_is_listed_with_its_reason_never_imported():
    result = imported(include_deprecated=True)
    reasons = {op.split(" (")[0]: reason for op, reason in result.report.skipped}
    assert "multipart" in reasons["POST /items/{item-id}/photo"]
    assert "streaming" in reasons["GET /items/{item-id}/feed"]
    assert "XML" in reasons["GET /legacy/report.xml"]
    names = {t.name for t in result.spec.tools}
    assert not names & {"upload_photo", "item_feed", "legacy_report"}


def test_one_of_alternatives_fold_into_one_object_whose_fields_are_all_optional():
    area = tool(imported(include=("*Two",)), "this_operation_id_is_far_too_long_for_any_mcp_client_to_a_581e1a")
    assert set(area.input) == {"radius", "width", "height"} and all(p.optional for p in area.input.values())
    assert area.implementation.response == "text"


def test_filters_by_tag_method_and_pattern():
    with pytest.raises(OpenAPIError, match="none of the 2 matching operations can be mapped"):
        imported(tags=("media",))
    only_get = imported(methods=("GET",))
    assert {t.implementation.method for t in only_get.spec.tools} == {"GET"}
    by_path = imported(include=("DELETE /items/*",))
    assert [t.name for t in by_path.spec.tools] == ["delete_item"]
    excluded = imported(tags=("items",), exclude=("create*", "list*"))
    assert "create_item" not in {t.name for t in excluded.spec.tools}


def test_more_than_40_matching_operations_are_refused_with_the_count_and_how_to_narrow(tmp_path):
    paths = {f"/things/{i}": {"get": {"operationId": f"thing{i}", "tags": ["things" if i % 2 else "other"],
                                      "responses": {"204": {"description": "ok"}}}} for i in range(45)}  # fmt: skip
    doc = {"openapi": "3.0.0", "info": {"title": "Many", "version": "1"}, "servers": [{"url": "https://x.example"}],
           "paths": paths}  # fmt: skip
    (tmp_path / "many.json").write_text(json.dumps(doc))
    with pytest.raises(TooManyOperations) as refused:
        imported(str(tmp_path / "many.json"))
    assert "45 of its 45 operations match" in str(refused.value) and "things (22)" in str(refused.value)
    assert "--tags" in refused.value.hint and refused.value.exit_code == 2
    assert len(imported(str(tmp_path / "many.json"), max_tools=45).spec.tools) == 45
    assert len(imported(str(tmp_path / "many.json"), tags=("things",)).spec.tools) == 22


def test_the_cli_writes_the_spec_and_reports_what_it_left_out(tmp_path):
    out = tmp_path / "mapping.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "factory_bot", "import", "openapi", MAPPING, "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["spec"] == out.read_text() and answer["report"]["matched"] == 9
    assert load_spec_text(out.read_text()).name == "mapping-rules-api"
    assert "left out POST /items/{item-id}/photo" in run.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "factory_bot", "import", "openapi", MAPPING, "--max-tools", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "9 of its 10 operations match" in refused.stderr


def test_the_same_document_imports_to_the_same_bytes():
    assert dump_spec(imported().spec) == dump_spec(imported().spec)


@pytest.mark.parametrize("version", ["2.0", "3.0", "3.1"])
def test_the_petstore_family_imports_from_the_published_documents(version):
    result = import_openapi(oas_example(f"{version}/json/petstore.json"), ImportOptions(name="petstore"))
    names = {t.name for t in result.spec.tools}
    assert {"add_pet", "get_pet_by_id", "place_order", "login_user"} <= names
    get = tool(result, "get_pet_by_id")
    assert get.implementation.path == "/pet/{petId}" and get.input["petId"].type == "integer"
    assert get.implementation.headers == {"api_key": "${PETSTORE_API_KEY}"}
    assert get.output is not None and "name" in get.output.properties
    assert result.report.openapi == version


def test_a_documented_reply_with_fields_the_schema_lacks_is_not_recorded_and_ref_examples_resolve(tmp_path):
    user = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Users", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "components": {"examples": {"ann": {"value": {"name": "Ann"}}}},
        "paths": {
            "/users": {
                "post": {
                    "operationId": "createUser",
                    "requestBody": {"content": {"application/json": {"schema": user, "example": {"$ref": "#/components/examples/ann/value"}}}},
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": user, "example": {"id": 1, "name": "Ann", "extra": True}}}}},
                }
            }
        },
    }  # fmt: skip
    (tmp_path / "users.json").write_text(json.dumps(doc))
    [example] = imported(str(tmp_path / "users.json")).spec.tools[0].examples
    assert example.input == {"name": "Ann"}  # the body example behind its $ref
    # A client holds the reply to the listed output schema, which has no `extra`: a reply made from the schema.
    assert example.upstream.body == {"id": 1, "name": "example"} == example.output


def test_server_variables_are_reported_once_for_the_whole_server():
    notes = imported().report.notes
    assert notes.count(("*", "server variables major, region set to their defaults")) == 1
    assert not any("server variables" in note for tool, note in notes if tool != "*")


def test_an_all_of_whose_parts_no_value_can_meet_is_left_out_never_narrowed_to_one_part(tmp_path):
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Quirks", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/x": {
                "post": {
                    "operationId": "postX",
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                        "both": {"allOf": [{"type": "string"}, {"type": "integer"}]},
                        "count": {"allOf": [{"type": "number"}, {"type": "integer", "minimum": 1}]},
                        "name": {"type": "string"}}}}}},
                    "responses": {"204": {"description": "none"}},
                }
            }
        },
    }  # fmt: skip
    (tmp_path / "quirks.json").write_text(json.dumps(doc))
    result = imported(str(tmp_path / "quirks.json"))
    [post] = result.spec.tools
    assert set(post.input) == {"count", "name"} and post.input["count"].type == "integer"  # a number and an integer
    assert any("both: allOf of incompatible types (string, integer)" in note for _, note in result.report.notes)
