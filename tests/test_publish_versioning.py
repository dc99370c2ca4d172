"""The bot proposes a semver bump from the spec diff when a spec changes without one."""

from __future__ import annotations

from pathlib import Path

from factory_bot.gitops import versioning
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.params import Param

SPECS = Path(__file__).resolve().parent.parent / "specs"


def calculator() -> ServerSpec:
    return load_spec_file(SPECS / "calculator.yaml")


def change_tool(spec: ServerSpec, index: int, **update) -> ServerSpec:
    tools = list(spec.tools)
    tools[index] = tools[index].model_copy(update=update)
    return spec.model_copy(update={"tools": tools})


def test_removing_a_tool_is_major():
    old = calculator()
    new = old.model_copy(update={"tools": old.tools[1:]})
    proposal = versioning.propose(old, new)
    assert (proposal.version, proposal.level) == ("2.0.0", "major")
    assert "major: tool add removed" in proposal.reasons


def test_changing_an_input_type_or_adding_a_required_input_is_major():
    old = calculator()
    retyped = change_tool(old, 0, input={**old.tools[0].input, "a": Param(type="string")})
    assert versioning.propose(old, retyped).version == "2.0.0"
    required = change_tool(old, 0, input={**old.tools[0].input, "c": Param(type="number")})
    assert versioning.propose(old, required).version == "2.0.0"


def test_a_new_tool_or_optional_input_is_minor():
    old = calculator()
    optional = change_tool(old, 0, input={**old.tools[0].input, "c": Param(type="number", required=False)})
    assert versioning.propose(old, optional).version == "1.1.0"
    extra = old.tools[0].model_copy(update={"name": "add_again"})
    assert versioning.propose(old, old.model_copy(update={"tools": [*old.tools, extra]})).version == "1.1.0"


def test_text_only_changes_are_a_patch():
    old = calculator()
    assert versioning.propose(old, old.model_copy(update={"description": "Sums and such."})).version == "1.0.1"
    assert versioning.propose(old, change_tool(old, 1, description="Take b from a.")).version == "1.0.1"


def test_no_change_or_an_adequate_bump_needs_no_proposal():
    old = calculator()
    assert versioning.propose(old, old).version is None
    bumped = old.model_copy(update={"version": "2.0.0", "tools": old.tools[1:]})
    proposal = versioning.propose(old, bumped)
    assert proposal.version is None and proposal.level == "major"


def test_versions_sort_semantically_and_prereleases_come_first():
    versions = ["1.10.0", "1.9.0", "1.10.0-rc.1", "0.1.0"]
    assert sorted(versions, key=versioning.key) == ["0.1.0", "1.9.0", "1.10.0-rc.1", "1.10.0"]
    assert versioning.bump("1.2.0-rc.1", "patch") == "1.2.0"
