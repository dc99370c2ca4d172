"""Prompts and resources ask, as tools do: feedback.yaml's prompt `release_notes` asks the user which release the
notes are for (`asks: [elicitation]`, `elicit(...)` in its code body), and its resource template
`release-draft://{release}` asks the client's model for the draft it returns (`asks: [sampling]`), and its resource
`feedback://workspace` lists the client's roots (`asks: [roots]`). Answered by real
MCP clients of both protocol eras, and checked by validation against each example's `answers`."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from factory_bot.build.pipeline import build
from factory_bot.build.render import render_server
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec

from .asking_user import User
from .served import entry

pytestmark = pytest.mark.e2e
SPECS = Path(__file__).parent.parent / "specs"
FORM = {"release": "v2.0.0", "audience": "developers"}


@pytest.fixture(scope="module")
def feedback(built):
    return built("feedback")


async def get(result, user: User, mode: str, arguments: dict | None = None) -> types.GetPromptResult:
    params = StdioServerParameters(command="node", args=[entry(result)])
    async with Client(params, mode=mode, elicitation_callback=user.elicit) as client:
        return await client.get_prompt("release_notes", arguments)


def texts(result: types.GetPromptResult) -> list[str]:
    return [m.content.text for m in result.messages if isinstance(m.content, types.TextContent)]


def test_validation_got_the_prompt_with_the_examples_answers_on_both_eras(feedback):
    assert feedback.ok, [(c.name, c.message, c.details) for c in feedback.report.failures]
    by_name = {c.name: c for c in feedback.report.checks}
    assert by_name["prompt-examples"].message == "2/2 prompt examples pass"  # 2026-07-28: input_required rounds
    assert by_name["http-legacy-prompt-examples"].message == "2/2 prompt examples pass"  # 2025-11-25: requests
    assert by_name["resource-examples"].message == "2/2 read examples pass"
    assert by_name["http-legacy-resource-examples"].message == "2/2 read examples pass"


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 input_required rounds; 2025-11-25 requests
def test_a_prompt_asks_the_user_and_builds_its_message_from_the_answer(feedback, mode):
    user = User(FORM)
    result = anyio.run(get, feedback, user, mode, {"tone": "short"})
    assert texts(result) == ["Write short release notes of v2.0.0 for developers."]
    [form] = user.forms
    assert form.message == "Which release are the notes for?"
    assert form.requested_schema["required"] == ["release"]
    assert form.requested_schema["properties"]["audience"]["enum"] == ["users", "developers"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_reading_a_resource_asks_the_clients_model_for_its_content(feedback, mode):
    user = User(None, reply="v2.0.0: fewer crashes.")

    async def read():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode=mode, sampling_callback=user.sample) as client:
            return await client.read_resource("release-draft://v2.0.0")

    result = anyio.run(read)
    assert [(c.uri, c.text) for c in result.contents] == [("release-draft://v2.0.0", "v2.0.0: fewer crashes.")]
    [asked] = user.prompts
    assert asked.messages[0].content.text == "Draft one line of release notes for v2.0.0."
    assert asked.max_tokens == 80


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_reading_a_resource_asks_the_client_for_its_roots(feedback, mode):
    async def roots(_context):
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/app", name="app")])

    async def read():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode=mode, list_roots_callback=roots) as client:
            return await client.read_resource("feedback://workspace")

    assert [c.text for c in anyio.run(read).contents] == ["file:///srv/app"]


def test_a_reads_request_state_belongs_to_its_uri(feedback):
    """The answers given while reading one URI of the template are not replayed on another URI's read."""

    async def main():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode="auto", sampling_callback=User(None).sample) as client:
            first = await client.session.read_resource("release-draft://v1", allow_input_required=True)
            answer = {
                "ask0": types.CreateMessageResult(
                    role="assistant", content=types.TextContent(type="text", text="x"), model="m"
                )
            }
            with pytest.raises(MCPError) as refused:
                await client.session.read_resource(
                    "release-draft://v2", input_responses=answer, request_state=first.request_state
                )
            return first, refused.value

    first, refused = anyio.run(main)
    assert first.input_requests["ask0"].method == "sampling/createMessage"
    assert "belongs to a call of release-draft://v1" in refused.error.message


def test_a_cancelled_form_reaches_the_prompt_body(feedback):
    result = anyio.run(get, feedback, User(None, refusal="cancel"), "auto")
    assert texts(result) == ["Write release notes for the latest release."]


def test_a_2026_client_sees_the_form_as_an_input_required_result_then_the_messages(feedback):
    async def main():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode="auto", elicitation_callback=User(FORM).elicit) as client:
            first = await client.session.get_prompt("release_notes", {}, allow_input_required=True)
            answer = {"ask0": types.ElicitResult(action="accept", content={"release": "v3"})}
            second = await client.session.get_prompt(
                "release_notes", {}, input_responses=answer, request_state=first.request_state
            )
            return first, second

    first, second = anyio.run(main)
    assert isinstance(first, types.InputRequiredResult)
    assert first.input_requests["ask0"].method == "elicitation/create"
    assert texts(second) == ["Write plain release notes of v3 for users."]


def test_a_tools_request_state_is_refused_on_the_prompt(feedback):
    """requestState is signed for its method: the answers given to a tool's call cannot be replayed on a prompt."""

    async def main():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode="auto", elicitation_callback=User({}).elicit) as client:
            tool = await client.session.call_tool("rate_release", {"release": "v1"}, allow_input_required=True)
            with pytest.raises(MCPError) as refused:
                await client.session.get_prompt("release_notes", {}, request_state=tool.request_state)
            return refused.value

    assert anyio.run(main).error.code == -32602


def _spec(answers: list[dict], read_answers: list[dict] | None = None) -> ServerSpec:
    spec = load_spec_file(SPECS / "feedback.yaml").model_dump(mode="json", exclude_unset=True)
    spec["prompts"][0]["examples"] = [{"answers": answers, "contains": ["release notes"]}]
    if read_answers is not None:
        spec["resource_templates"][0]["examples"][0]["answers"] = read_answers
    return ServerSpec.model_validate(spec)


def test_validation_fails_when_an_example_lacks_the_answer_its_body_asks_for_or_gives_one_too_many(tmp_path):
    extra = {"sampling": {"text": "v1.2.0: a faster start."}}
    result = build(_spec([], read_answers=[extra, extra]), tmp_path)
    assert not result.ok
    failed = {c.name: c.details for c in result.report.failures}
    assert failed["prompt-examples"][0].startswith(
        "release_notes {}: ask 1 (elicitation) has no answer in the example's `answers`"
    ), failed
    assert failed["resource-examples"] == [
        "release-draft: read release-draft://v1.2.0: the body asked 1 time(s), but the example gives 2 answers"
    ]


def test_a_prompt_asks_only_from_a_code_body_and_only_what_it_declares():
    spec = load_spec_file(SPECS / "feedback.yaml").model_dump(mode="json", exclude_unset=True)
    prompt = spec["prompts"][0]
    with pytest.raises(ValidationError, match="answers sampling, but `asks` lacks sampling"):
        _spec([{"sampling": {"text": "Fine."}}])
    messages = {k: v for k, v in prompt.items() if k not in ("code", "examples")}
    messages["messages"] = [{"content": {"type": "text", "text": "Write release notes."}}]
    with pytest.raises(ValidationError, match="only a code body can ask"):
        ServerSpec.model_validate(spec | {"prompts": [messages]})
    with pytest.raises(ValidationError, match="reconnect"):  # a prompts/get has no stream to end
        ServerSpec.model_validate(spec | {"prompts": [prompt | {"asks": ["reconnect"]}]})


def _only(**kinds) -> dict[str, str]:
    """The rendered files of feedback.yaml with a tool that does not ask, and only the given prompts/templates."""
    spec = load_spec_file(SPECS / "feedback.yaml").model_dump(mode="json", exclude_unset=True)
    pong = {"name": "ping", "description": "Pong.", "implementation": {"kind": "code", "code": 'return "pong";'}}
    spec |= {"tools": [pong], "prompts": [], "resources": [], "resource_templates": []} | kinds
    return render_server(ServerSpec.model_validate(spec))


def test_a_server_whose_only_asker_is_a_prompt_or_a_resource_has_the_asks_module_and_keeps_sessions():
    spec = load_spec_file(SPECS / "feedback.yaml").model_dump(mode="json", exclude_unset=True)
    by_prompt = _only(prompts=spec["prompts"])
    assert 'import { answering, elicit } from "./asks.js";' in by_prompt["src/prompts.ts"]
    assert "export async function elicit(" in by_prompt["src/asks.ts"]
    assert "export function sample(" not in by_prompt["src/asks.ts"]  # only what some body asks
    by_resource = _only(resource_templates=spec["resource_templates"])
    assert 'import { answering, sample } from "./asks.js";' in by_resource["src/resources.ts"]
    assert "export async function elicit(" not in by_resource["src/asks.ts"]
    by_static = _only(resources=spec["resources"])
    assert 'import { answering, listRoots } from "./asks.js";' in by_static["src/resources.ts"]
    for files in (by_prompt, by_resource, by_static):
        assert "requestState: { verify: stateCodec.verify }" in files["src/index.ts"]
        assert "const SESSIONS_DEFAULT = true;" in files["src/cli.ts"]
    assert "src/asks.ts" not in _only()
