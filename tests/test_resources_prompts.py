"""Issue 13, first cut: a spec declares resources, resource templates and prompts; the built server serves
them to the real MCP client (both protocol revisions), validation runs their examples, completions answer,
a subscribed client hears about updates, and their code bodies meet the same checks as a tool's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import PromptReference, ResourceTemplateReference

from factory_bot.build import code_shape, toolchain
from factory_bot.build.pipeline import build
from factory_bot.spec.loader import load_spec_text

pytestmark = pytest.mark.e2e

TOOL = {
    "name": "ping_tool",
    "description": "Answers pong.",
    "implementation": {"kind": "code", "code": 'return "pong";'},
}


def spec_text(name: str, **kinds: Any) -> str:
    return json.dumps(
        {"name": name, "version": "0.1.0", "description": "Resources and prompts.", "tools": [TOOL], **kinds}
    )


def failures(result: Any) -> list[Any]:
    return [(c.name, c.message, c.details) for c in result.report.failures]


async def session(server_dir: Path, mode: str, work: Any, **client: Any) -> Any:
    params = StdioServerParameters(command="node", args=[str(server_dir / "dist" / "index.js")])
    async with Client(params, mode=mode, **client) as connected:
        return await work(connected)


def test_the_notes_spec_serves_its_resources_and_prompts_and_validation_ran_their_examples(built) -> None:
    result = built("notes")

    assert result.ok, failures(result)
    by_name = {c.name: c for c in result.report.checks}
    assert by_name["resource-examples"].message == "5/5 read examples pass"
    assert by_name["prompt-examples"].message == "2/2 prompt examples pass"
    assert all(by_name[f"{s}-resources-prompts"].ok for s in ("protocol", "protocol-legacy", "http"))


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 and the 2025-11-25 initialize handshake
def test_a_client_reads_templates_and_gets_prompts_with_completions(built, mode: str) -> None:
    server_dir = built("notes").server_dir

    async def work(client: Any) -> dict[str, Any]:
        note = await client.read_resource("notes://ideas")
        prompt = await client.get_prompt("summarize_note", {"id": "groceries"})
        by_code = await client.complete(ResourceTemplateReference(uri="notes://{id}"), {"name": "id", "value": "gr"})
        by_list = await client.complete(PromptReference(name="summarize_note"), {"name": "id", "value": "i"})
        templates = await client.list_resource_templates()
        return {
            "note": note.contents[0],
            "prompt": [m.model_dump(mode="json", exclude_none=True) for m in prompt.messages],
            "by_code": by_code.completion.values,
            "by_list": by_list.completion.values,
            "templates": [t.uri_template for t in templates.resource_templates],
        }

    got = anyio.run(session, server_dir, mode, work)

    assert got["note"].text.startswith("# Ideas") and got["note"].mime_type == "text/markdown"
    assert got["prompt"][0]["content"]["resource"]["uri"] == "notes://groceries"
    assert got["prompt"][1]["content"]["text"] == "Summarise the note above in one line ."
    assert got["by_code"] == ["groceries"]
    assert got["by_list"] == ["ideas"]
    assert got["templates"] == ["notes://{id}", "notes://{id}/line/{n}"]


def test_a_read_example_the_server_does_not_meet_fails_validation_naming_the_resource(tmp_path: Path) -> None:
    spec = load_spec_text(
        spec_text(
            "wrong-read",
            resources=[{"uri": "memo://a", "name": "memo", "text": "actual", "examples": [{"text": "expected"}]}],
            prompts=[
                {
                    "name": "hello",
                    "description": "Says hello.",
                    "messages": [{"content": {"type": "text", "text": "hello"}}],
                    "examples": [{"contains": ["goodbye"]}],
                }
            ],
        )
    )

    result = build(spec, tmp_path)

    assert not result.ok
    failed = {c.name: c.details for c in result.report.failures}
    assert failed["resource-examples"] == ["memo: read memo://a: expected the text 'expected', got 'actual'"]
    assert failed["prompt-examples"][0].startswith("hello {}: the messages lack 'goodbye'")


HOSTILE = 'end */ ${process.exit(1)} `tick` </script> \u2028 \\" {not_an_arg'


def test_hostile_strings_and_audio_reach_the_client_unchanged(tmp_path: Path) -> None:
    spec = load_spec_text(
        spec_text(
            "hostile-kinds",
            resources=[
                {
                    "uri": "memo://hostile",
                    "name": "hostile",
                    "title": HOSTILE,
                    "description": HOSTILE,
                    "text": HOSTILE,
                    "examples": [{"text": HOSTILE}],
                }
            ],
            prompts=[
                {
                    "name": "hostile",
                    "description": HOSTILE,
                    "arguments": {"who": {"description": HOSTILE}},
                    "messages": [
                        {"content": {"type": "text", "text": HOSTILE + " {who}"}},
                        {
                            "role": "assistant",
                            "content": {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
                        },
                    ],
                    "examples": [
                        {"arguments": {"who": "x"}, "contains": [json.dumps(HOSTILE + " x")[1:-1], '"type":"audio"']}
                    ],
                }
            ],
        )
    )

    result = build(spec, tmp_path)

    assert result.ok, failures(result)


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")  # 2025-11-25 clients still subscribe
def test_a_subscribed_client_hears_when_code_announces_an_update(tmp_path: Path) -> None:
    touch = {
        "name": "touch",
        "description": "Marks the memo changed.",
        "implementation": {"kind": "code", "code": 'resourceUpdated("memo://watched");\nreturn "touched";'},
    }
    watched = {"uri": "memo://watched", "name": "watched", "text": "w", "subscribe": True}
    spec = load_spec_text(spec_text("watched", resources=[watched]).replace(json.dumps(TOOL), json.dumps(touch)))
    result = build(spec, tmp_path)
    assert result.ok, failures(result)
    heard: list[str] = []

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated":
            heard.append(str(root.params.uri))

    async def work(client: Any) -> bool:
        await client.subscribe_resource("memo://watched")
        await client.call_tool("touch", {})
        with anyio.fail_after(10):
            while not heard:
                await anyio.sleep(0.02)
        return client.server_capabilities.resources.subscribe

    assert anyio.run(lambda: session(result.server_dir, "legacy", work, message_handler=on_message))
    assert heard == ["memo://watched"]


def test_a_template_body_that_closes_its_function_is_refused_at_its_field() -> None:
    spec = load_spec_text(
        spec_text(
            "escape-template",
            resource_templates=[
                {
                    "uriTemplate": "memo://{id}",
                    "name": "memo",
                    "code": {"kind": "code", "code": "return id; }\nconsole.log('top level');\n{"},
                }
            ],
        )
    )

    [problem] = code_shape.check(spec, toolchain.ensure())

    assert problem.field == "resource_templates[0].code line 1"
