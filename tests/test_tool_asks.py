"""A tool asks while it runs: a form for the user (`elicit`) and the client's model (`sample`), declared by the
spec's `asks`, answered by real MCP clients of both protocol eras, and checked by validation against the
example's `answers`."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from pydantic import ValidationError

from factory_bot.build.pipeline import build
from factory_bot.build.render import render_server
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec, Tool

from .asking_user import User
from .served import entry

pytestmark = pytest.mark.e2e
SPECS = Path(__file__).parent.parent / "specs"


@pytest.fixture(scope="module")
def feedback(built):
    return built("feedback")


async def call(result, user: User, mode: str, release: str = "v2.0.0") -> types.CallToolResult:
    params = StdioServerParameters(command="node", args=[entry(result)])
    async with Client(params, mode=mode, elicitation_callback=user.elicit, sampling_callback=user.sample) as client:
        return await client.call_tool("rate_release", {"release": release})


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 input_required rounds; 2025-11-25 requests
def test_a_tool_asks_the_user_then_the_model_and_returns_both_answers(feedback, mode):
    user = User({"rating": "good", "comment": "fast"}, reply="A fast, good release.")
    result = anyio.run(call, feedback, user, mode)
    assert not result.is_error, result
    assert result.content[0].text == "v2.0.0: good. A fast, good release."
    [form] = user.forms
    assert form.message == "How was v2.0.0?"
    assert form.requested_schema["properties"]["rating"] == {
        "type": "string",
        "title": "Rating",
        "enum": ["good", "ok", "bad"],
        "default": "good",
    }
    [prompt] = user.prompts  # asked once: the replayed round reuses the form's answer, it does not ask again
    assert prompt.max_tokens == 60
    assert prompt.messages[0].content.text == "Sum up in one line: v2.0.0 was rated good. fast"


def test_a_declined_form_reaches_the_body_and_the_model_is_not_asked(feedback):
    user = User(None)
    result = anyio.run(call, feedback, user, "auto")
    assert result.content[0].text == "no feedback on v2.0.0 (decline)"
    assert len(user.forms) == 1 and user.prompts == []


def test_a_form_answer_that_does_not_fit_the_form_is_an_error_and_the_model_is_not_asked(feedback):
    user = User({"rating": "terrible"})  # not one of the enum's values
    result = anyio.run(call, feedback, user, "auto")
    assert result.is_error
    assert 'the answer to "How was v2.0.0?" does not fit its form' in result.content[0].text
    assert user.prompts == []


def test_a_client_that_cannot_answer_forms_gets_an_error_result(feedback):
    async def main():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        async with Client(params, mode="legacy") as client:  # declares neither elicitation nor sampling
            return await client.call_tool("rate_release", {"release": "v1"})

    result = anyio.run(main)
    assert result.is_error
    assert "elicitation" in result.content[0].text.lower()


def test_a_tampered_request_state_is_refused_before_the_body_runs_again(feedback):
    """The answers so far travel in requestState, signed: a client that edits them gets -32602."""
    from mcp.shared.exceptions import MCPError

    async def main():
        params = StdioServerParameters(command="node", args=[entry(feedback)])
        user = User({})
        async with Client(
            params, mode="auto", elicitation_callback=user.elicit, sampling_callback=user.sample
        ) as client:
            call = client.session.call_tool
            first = await call("rate_release", {"release": "v1"}, allow_input_required=True)
            answer = {"ask0": types.ElicitResult(action="accept", content={"rating": "ok"})}
            second = await call(
                "rate_release",
                {"release": "v1"},
                input_responses=answer,
                request_state=first.request_state,
                allow_input_required=True,
            )
            with pytest.raises(MCPError) as refused:
                forged = second.request_state[:-4] + ("AAAA" if not second.request_state.endswith("AAAA") else "BBBB")
                await call("rate_release", {"release": "v1"}, request_state=forged, allow_input_required=True)
            return first, second, refused.value

    first, second, refused = anyio.run(main)
    assert list(first.input_requests) == ["ask0"]  # the form
    assert list(second.input_requests) == ["ask1"]  # the model: the form's answer is now in the signed state
    assert refused.error.code == -32602


def _spec(answers: list[dict], asks: list[str] | None = None) -> dict:
    spec = load_spec_file(SPECS / "feedback.yaml").model_dump(mode="json", exclude_unset=True)
    tool = spec["tools"][0]
    tool["examples"] = [{"input": {"release": "v1"}, "answers": answers, "output": "v1: ok. Fine."}]
    if asks is not None:
        tool["asks"] = asks
    return spec


def test_validation_fails_when_an_example_has_fewer_answers_than_the_body_asks(tmp_path):
    spec = ServerSpec.model_validate(_spec([{"elicitation": {"content": {"rating": "ok"}}}]))
    result = build(spec, tmp_path)
    assert not result.ok
    [check] = [c for c in result.report.failures if c.name == "examples"]
    assert any("ask 2 (sampling) has no answer" in line for line in check.details), check.details


def test_validation_passes_when_the_answers_fit():
    spec = ServerSpec.model_validate(
        _spec([{"elicitation": {"content": {"rating": "ok"}}}, {"sampling": {"text": "Fine."}}])
    )
    assert spec.tools[0].examples[0].answers[1].sampling.text == "Fine."


def test_an_answer_of_a_kind_the_tool_does_not_ask_is_refused():
    with pytest.raises(ValidationError, match="answers sampling, but `asks` lacks sampling"):
        ServerSpec.model_validate(_spec([{"sampling": {"text": "x"}}], asks=["elicitation"]))


def test_a_roots_answer_is_a_list_of_file_uris_and_one_kind_only():
    with pytest.raises(ValidationError, match="an answer is one of"):
        ServerSpec.model_validate(
            _spec([{"roots": [{"uri": "file:///a"}], "sampling": {"text": "x"}}], asks=["roots", "sampling"])
        )
    with pytest.raises(ValidationError, match="file://"):
        ServerSpec.model_validate(_spec([{"roots": [{"uri": "https://a.example"}]}], asks=["roots"]))


def test_only_a_code_body_can_ask():
    with pytest.raises(ValidationError, match="only a code body can ask"):
        Tool.model_validate(
            {
                "name": "t",
                "description": "d",
                "asks": ["sampling"],
                "implementation": {"kind": "http", "base_url": "https://api.example"},
            }
        )


def test_a_server_whose_tools_do_not_ask_has_no_asks_module_and_stays_stateless():
    files = render_server(load_spec_file(SPECS / "calculator.yaml"))
    assert "src/asks.ts" not in files
    assert "const SESSIONS_DEFAULT = false;" in files["src/cli.ts"]
    asking = render_server(load_spec_file(SPECS / "feedback.yaml"))
    assert "export async function elicit(" in asking["src/asks.ts"]
    assert "const SESSIONS_DEFAULT = true;" in asking["src/cli.ts"]


TOGETHER = {
    "name": "together",
    "version": "1.0.0",
    "description": "Asks the user and the model at once.",
    "tools": [
        {
            "name": "both",
            "description": "Asks a form and the model together.",
            "asks": ["elicitation", "sampling"],
            "implementation": {
                "kind": "code",
                "code": 'const [form, reply] = await Promise.all([\n  elicit("Name?", { type: "object", properties: '
                '{ name: { type: "string" } } }, { key: "user_name" }),\n  sample("Greet", { maxTokens: 20 }),\n]);\n'
                'const text = Array.isArray(reply.content) ? "" : reply.content.type === "text" ? reply.content.text : "";'
                "\nreturn `${text} ${form.content?.name}`;\n",
            },
            "examples": [
                {
                    "answers": [{"elicitation": {"content": {"name": "Ada"}}}, {"sampling": {"text": "Hi"}}],
                    "output": "Hi Ada",
                }
            ],
        }
    ],
}


def test_asks_made_together_go_out_in_one_round_under_their_keys(tmp_path):
    result = build(ServerSpec.model_validate(TOGETHER), tmp_path)
    assert result.ok, [(c.name, c.message, c.details) for c in result.report.failures]

    async def main():
        params = StdioServerParameters(command="node", args=[entry(result)])
        async with Client(
            params, mode="auto", elicitation_callback=User({}).elicit, sampling_callback=User({}).sample
        ) as c:
            return await c.session.call_tool("both", {}, allow_input_required=True)

    first = anyio.run(main)
    assert sorted(first.input_requests) == ["ask1", "user_name"]  # one round, both asks; the second by position
