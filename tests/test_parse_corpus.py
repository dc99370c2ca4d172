"""The request corpus: each request, answered by a scripted Claude, gives the expected spec or a clear refusal;
every spec that comes out builds through the real pipeline (tsc, MCP client, examples)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest
from ruamel.yaml import YAML

from factory_bot.build import repair_checks as checks
from factory_bot.errors import RequestError
from factory_bot.parse import ParseResult, RequestDeclined, parse_issue
from tests.fakes.messages_api import FakeMessagesAPI, Reply, text_reply, tool_use

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.yaml"))


def load_case(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def scripted(answers: list[dict[str, Any]]) -> list[Reply]:
    replies = []
    for answer in answers:
        if "submit_spec" in answer:
            replies.append(tool_use("submit_spec", answer["submit_spec"], thinking=True))
        elif "decline_request" in answer:
            replies.append(tool_use("decline_request", answer["decline_request"]))
        else:
            replies.append(text_reply(answer["text"]))
    return replies


def run_case(case: dict[str, Any]) -> tuple[ParseResult | RequestError, FakeMessagesAPI]:
    check = checks.typecheck if case.get("check") == "typecheck" else None
    with FakeMessagesAPI(scripted(case["answers"])) as api:
        client = anthropic.Anthropic(api_key="test-key", base_url=api.url, max_retries=0)
        try:
            outcome: ParseResult | RequestError = parse_issue(
                case.get("title", ""), case["request"], client=client, check=check
            )
        except RequestError as exc:
            outcome = exc
    return outcome, api


def _params(paths: list[Path]) -> list[Any]:
    # A case whose check compiles the server needs the Node toolchain: it runs with the e2e tests.
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.e2e] if load_case(p).get("check") else []) for p in paths]


def test_corpus_has_at_least_fifteen_varied_requests():
    cases = [load_case(p) for p in CORPUS]
    outcomes = {c["expect"]["outcome"] for c in cases}
    assert len(cases) >= 15
    assert {"spec", "declined", "error"} <= outcomes
    assert any(
        a.get("submit_spec", {}).get("tools", [{}])[0].get("implementation", {}).get("kind") == "http"
        for c in cases
        for a in c["answers"]
    )


@pytest.mark.parametrize("path", _params(CORPUS))
def test_corpus_request_gives_the_expected_outcome(path: Path):
    case = load_case(path)
    expect = case["expect"]
    outcome, api = run_case(case)

    assert not api.replies, "every scripted answer is used, and no more are asked for"
    assert len(api.requests) == len(case["answers"])
    for request in api.requests:
        sent = json.dumps(request.body)
        for secret in expect.get("not_sent", []):
            assert secret not in sent
    if expect["outcome"] == "spec":
        assert isinstance(outcome, ParseResult), outcome
        assert outcome.source == expect["source"]
        assert outcome.spec.name == expect["name"]
        assert [t.name for t in outcome.spec.tools] == expect["tools"]
        assert len(outcome.attempts) == expect["attempts"]
        assert outcome.spec.has_model_code == (
            expect["source"] == "model" and any(t.implementation.kind == "code" for t in outcome.spec.tools)
        )
        for text in expect.get("repair_mentions", []):
            assert text in api.requests[1].user_text()
    elif expect["outcome"] == "declined":
        assert isinstance(outcome, RequestDeclined), outcome
        assert expect["message"] in str(outcome)
        assert outcome.questions, "a refusal says what would make the request buildable"
    else:
        assert isinstance(outcome, RequestError) and not isinstance(outcome, RequestDeclined), outcome
        assert expect["message"] in str(outcome)


SPEC_CASES = [p for p in CORPUS if load_case(p)["expect"]["outcome"] == "spec"]


@pytest.mark.e2e
@pytest.mark.parametrize("path", SPEC_CASES, ids=[p.stem for p in SPEC_CASES])
def test_corpus_spec_builds_into_a_working_server(path: Path, tmp_path: Path):
    from factory_bot.build.pipeline import build

    outcome, _ = run_case(load_case(path))
    assert isinstance(outcome, ParseResult), outcome
    result = build(outcome.spec, tmp_path)
    failures = [f"{c.name} {c.tool or ''}: {c.message} {c.details}" for c in result.report.checks if not c.ok]
    assert result.ok, "\n".join(failures)
