"""A spec that breaks a rule is refused before anything renders, with file, line, field and what to change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory_bot.errors import SpecError
from factory_bot.spec.loader import dump_spec, load_spec_file, load_spec_text
from factory_bot.spec.model import ServerSpec, spec_json_schema

from .conftest import EXAMPLE_SPECS, SPECS

CALCULATOR = (SPECS / "calculator.yaml").read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, source="spec.yaml")
    return [p.render("spec.yaml") for p in caught.value.problems]


MINIMAL = """\
name: demo
version: 1.0.0
description: A demo.
tools:
  - name: echo
    description: Echo the text.
    input:
      text: {type: string}
    implementation: {kind: code, code: "return text;"}
"""


@pytest.mark.parametrize("name", EXAMPLE_SPECS)
def test_every_bundled_example_spec_is_valid(name: str) -> None:
    spec = load_spec_file(SPECS / f"{name}.yaml")
    assert spec.name == name


def test_a_bad_server_name_names_the_line_and_suggests_a_fix() -> None:
    [problem] = problems_of(MINIMAL.replace("name: demo", "name: My Demo!"))
    assert problem.startswith("spec.yaml:1: name: ")
    assert "kebab-case" in problem and "'my-demo'" in problem


def test_a_typo_in_a_field_is_an_error_with_a_suggestion_not_silently_ignored() -> None:
    problems = problems_of(MINIMAL.replace("description: Echo the text.", "descripton: Echo the text."))
    assert "spec.yaml:6: tools[0].descripton: unknown field 'descripton' (did you mean 'description'?)" in problems[1]
    assert "required field 'description' is missing" in problems[0]


def test_malformed_yaml_points_at_the_line() -> None:
    [problem] = problems_of(MINIMAL + "  - name: [unclosed\n")
    assert "malformed YAML" in problem and "spec.yaml:1" in problem


def test_duplicate_keys_in_yaml_are_refused() -> None:
    assert any(
        "duplicate" in p.lower()
        for p in problems_of(MINIMAL.replace("version: 1.0.0", "version: 1.0.0\nversion: 2.0.0"))
    )


def test_duplicate_tool_names_are_refused() -> None:
    twice = MINIMAL + MINIMAL.split("tools:\n", 1)[1]
    assert any("two tools are named 'echo'" in p for p in problems_of(twice))


@pytest.mark.parametrize("bad", ["../x", "x/../../etc", "9lives", "a" * 65, "with space", "dash-name"])
def test_tool_names_must_be_identifiers_of_at_most_64_characters(bad: str) -> None:
    [problem] = problems_of(MINIMAL.replace("name: echo", f"name: {json.dumps(bad)}"))
    assert "tool name" in problem and "64" in problem


@pytest.mark.parametrize("bad", ["../evil", "Evil", "a--b", "-a", "a" * 65, "a_b"])
def test_server_names_cannot_traverse_paths_or_break_npm(bad: str) -> None:
    [problem] = problems_of(MINIMAL.replace("name: demo", f"name: {json.dumps(bad)}"))
    assert "kebab-case" in problem


def test_parameter_names_must_be_identifiers() -> None:
    assert any(
        "not an identifier" in p for p in problems_of(MINIMAL.replace("text: {type: string}", "'a-b': {type: string}"))
    )


def test_reserved_words_are_allowed_as_inputs_and_bound_with_an_underscore() -> None:
    from factory_bot.spec.params import local_name

    spec = load_spec_text(
        MINIMAL.replace("text: {type: string}", "class: {type: string}").replace("return text;", "return class_;")
    )
    assert list(spec.tools[0].input) == ["class"] and local_name("class") == "class_"


def test_examples_must_match_the_input_schema() -> None:
    text = CALCULATOR.replace("- {input: {a: 2, b: 3}, output: 5}", "- {input: {a: two, b: 3}, output: 5}")
    assert any(
        "examples[0].input does not match" in p and "'two' is not of type 'number'" in p for p in problems_of(text)
    )


def test_examples_may_not_pass_inputs_the_tool_does_not_have() -> None:
    text = CALCULATOR.replace("- {input: {a: 2, b: 3}, output: 5}", "- {input: {a: 2, b: 3, c: 1}, output: 5}")
    assert any("examples[0].input" in p for p in problems_of(text))


def test_example_outputs_must_match_the_declared_output() -> None:
    text = CALCULATOR.replace("output: 5}", "output: five}")
    assert any("examples[0].output does not match" in p for p in problems_of(text))


def test_an_example_expects_output_or_error_not_both() -> None:
    text = CALCULATOR.replace("output: 5}", "output: 5, error: boom}")
    assert any("either `output` or `error`" in p for p in problems_of(text))


def test_arrays_need_an_item_type() -> None:
    assert any("needs `items`" in p for p in problems_of(MINIMAL.replace("{type: string}", "{type: array}")))


def test_defaults_must_match_their_type() -> None:
    assert any(
        "`default` does not match" in p
        for p in problems_of(MINIMAL.replace("{type: string}", "{type: integer, default: many}"))
    )


def test_enum_values_must_match_their_type() -> None:
    assert any(
        "is not a number" in p for p in problems_of(MINIMAL.replace("{type: string}", "{type: number, enum: [1, two]}"))
    )


def test_counts_and_lengths_are_capped() -> None:
    many_tools = "tools:\n" + "".join(
        f"  - {{name: t{i}, description: d, implementation: {{kind: code, code: 'return 1;'}}}}\n" for i in range(51)
    )
    assert any("at most 50" in p for p in problems_of(MINIMAL.split("tools:")[0] + many_tools))
    assert any("4000" in p for p in problems_of(MINIMAL.replace("description: A demo.", f"description: {'x' * 4001}")))


def test_a_huge_spec_is_refused_before_parsing() -> None:
    problems = problems_of(MINIMAL + "# " + "x" * 300_000 + "\n")
    assert "the limit is" in problems[0]


def test_trojan_source_in_code_is_refused() -> None:
    text = MINIMAL.replace('"return text;"', '"return \\"\\u202e\\" + text;"')
    assert any("Trojan Source" in p and "U+202E" in p for p in problems_of(text))


def test_zero_width_characters_in_code_are_refused() -> None:
    text = MINIMAL.replace('"return text;"', '"return te\\u200bxt;"')
    assert any("invisible character U+200B" in p for p in problems_of(text))


def test_http_tools_reference_only_inputs_and_declared_env() -> None:
    http = MINIMAL.replace(
        'implementation: {kind: code, code: "return text;"}',
        "implementation: {kind: http, base_url: 'https://api.example.com', path: '/x/{nope}'}",
    )
    assert any("{nope}" in p for p in problems_of(http))
    headers = MINIMAL.replace(
        'implementation: {kind: code, code: "return text;"}',
        "implementation: {kind: http, base_url: 'https://api.example.com', "
        "headers: {Authorization: 'Bearer ${API_TOKEN}'}}",
    )
    assert any("does not declare it" in p and "API_TOKEN" in p for p in problems_of(headers))


def test_a_query_value_may_name_a_declared_env_var_which_is_no_input() -> None:
    keyed = MINIMAL.replace(
        'implementation: {kind: code, code: "return text;"}',
        "implementation: {kind: http, base_url: 'https://api.example.com', "
        "query: {q: '{text}', appid: '${WEATHER_KEY}'}}",
    )
    assert any("query uses ${WEATHER_KEY} but env does not declare it" in p for p in problems_of(keyed))
    declared = keyed.replace("tools:", "env:\n  - {name: WEATHER_KEY, secret: true}\ntools:")
    spec = load_spec_text(declared)
    assert spec.tools[0].implementation.placeholders() == {"text"}  # `${WEATHER_KEY}` is not an input


def test_http_examples_need_a_recorded_upstream_reply() -> None:
    http = MINIMAL.replace(
        'implementation: {kind: code, code: "return text;"}',
        "implementation: {kind: http, base_url: 'https://api.example.com'}\n    examples: [{input: {text: hi}}]",
    )
    assert any("needs `upstream" in p for p in problems_of(http))


def test_dumped_yaml_loads_back_to_the_same_spec(example_spec) -> None:
    for name in EXAMPLE_SPECS:
        spec = example_spec(name)
        assert load_spec_text(dump_spec(spec)) == spec


def test_the_committed_json_schema_matches_the_model() -> None:
    committed = json.loads((SPECS / "spec.schema.json").read_text())
    assert committed == spec_json_schema(), "regenerate: factory-bot schema --out specs/spec.schema.json"


def test_the_json_schema_accepts_every_example_spec() -> None:
    import jsonschema
    from ruamel.yaml import YAML

    schema = spec_json_schema()
    for name in EXAMPLE_SPECS:
        jsonschema.validate(YAML(typ="safe").load((SPECS / f"{name}.yaml").read_text()), schema)


def test_a_spec_model_is_immutable_so_stages_cannot_change_it_behind_each_others_back() -> None:
    spec = ServerSpec.model_validate(
        {
            "name": "x",
            "version": "1.0.0",
            "description": "d",
            "tools": [{"name": "t", "description": "d", "implementation": {"kind": "code", "code": "return 1;"}}],
        }
    )
    with pytest.raises(Exception):  # noqa: B017  pydantic's frozen error type is its own business
        spec.name = "y"  # type: ignore[misc]


def test_reading_a_missing_file_says_where_examples_live(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_file(tmp_path / "nope.yaml")
    assert "cannot read" in str(caught.value) and "specs/" in str(caught.value)
