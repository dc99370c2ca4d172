"""Resources and prompts through the real protocol: the server lists what the spec declares, and every
read example and prompt example gives what it expects (a body that asks gets its example's `answers`, from the
session's `Answers`). Called from protocol.session_checks, in its session."""

from __future__ import annotations

import json
import time
from typing import Any

from factory_bot.build.protocol_asks import Answers
from factory_bot.build.report import Check
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.prompts import GetExample
from factory_bot.spec.resources import ReadExample

CALL_TIMEOUT = 10.0  # one resources/read or prompts/get


def has_kinds(spec: ServerSpec) -> bool:
    return bool(spec.resources or spec.resource_templates or spec.prompts)


async def listing_problems(client: Any, spec: ServerSpec) -> list[str]:
    """Differences between what the server lists and the spec's resources, templates and prompts."""
    problems = []
    if spec.resources:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        for resource in spec.resources:
            got = listed.get(resource.uri)
            if got is None:
                problems.append(f"resources/list lacks {resource.uri}")
            elif got.name != resource.name or (got.mime_type or None) != resource.mimeType:
                problems.append(f"resources/list shows {resource.uri} as {got.name} ({got.mime_type})")
        if len(listed) != len(spec.resources):
            problems.append(f"resources/list shows {len(listed)} resources, the spec declares {len(spec.resources)}")
    if spec.resource_templates:
        listed_templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        expected = {t.uriTemplate for t in spec.resource_templates}
        if listed_templates != expected:
            problems.append(f"resources/templates/list shows {sorted(listed_templates)}, expected {sorted(expected)}")
    if spec.prompts:
        listed_prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        for prompt in spec.prompts:
            got = listed_prompts.get(prompt.name)
            if got is None:
                problems.append(f"prompts/list lacks {prompt.name}")
                continue
            arguments = {a.name: bool(a.required) for a in got.arguments or []}
            declared = {name: a.required for name, a in prompt.arguments.items()}
            if arguments != declared:
                problems.append(f"prompt {prompt.name}: arguments {arguments}, the spec declares {declared}")
        if len(listed_prompts) != len(spec.prompts):
            problems.append(f"prompts/list shows {len(listed_prompts)} prompts, the spec declares {len(spec.prompts)}")
    return problems


def read_problem(example: ReadExample, contents: list[Any] | None, error: str | None) -> str | None:
    """Why a resources/read answer does not meet the example (None when it does)."""
    if example.error is not None:
        if error is None:
            return f"expected an error containing {example.error!r}, the read succeeded"
        return (
            None if example.error in error else f"expected an error containing {example.error!r}, got {error[:200]!r}"
        )
    if error is not None:
        return f"failed: {error[:300]}"
    if not contents:
        return "returned no contents"
    first = contents[0]
    text, blob = getattr(first, "text", None), getattr(first, "blob", None)
    if example.text is not None and text != example.text:
        return f"expected the text {example.text[:120]!r}, got {str(text)[:120]!r}"
    if example.blob is not None and blob != example.blob:
        return f"expected the blob {example.blob[:40]!r}…, got {str(blob)[:40]!r}…"
    if example.contains is not None and example.contains not in (text or ""):
        return f"expected the text to contain {example.contains!r}, got {str(text)[:200]!r}"
    return None


def prompt_problem(example: GetExample, messages: list[Any] | None, error: str | None) -> str | None:
    """Why a prompts/get answer does not meet the example (None when it does)."""
    if example.error is not None:
        if error is None:
            return f"expected an error containing {example.error!r}, prompts/get succeeded"
        return (
            None if example.error in error else f"expected an error containing {example.error!r}, got {error[:200]!r}"
        )
    if error is not None:
        return f"failed: {error[:300]}"
    if not messages:
        return "returned no messages"
    shown = json.dumps(
        [m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in messages], separators=(",", ":")
    )
    missing = [c for c in example.contains if c not in shown]
    return f"the messages lack {missing[0]!r}: {shown[:300]}" if missing else None


async def _answer(call: Any) -> tuple[Any, str | None]:
    """(result, None), or (None, the error's text) when the server answered with an error."""
    import anyio

    try:
        with anyio.fail_after(CALL_TIMEOUT):
            return await call(), None
    except TimeoutError:
        return None, f"no answer within {CALL_TIMEOUT:g} s (does the code loop?)"
    except Exception as exc:  # noqa: BLE001 - an error answer is what `error` examples expect
        return None, f"{type(exc).__name__}: {exc}"


async def example_checks(client: Any, spec: ServerSpec, answers: Answers, prefix: str = "") -> list[Check]:
    """`resource-examples` (every read example) and `prompt-examples` (every prompts/get example), when there are any,
    each named after `prefix`: the session's name, but none for the first session (`http-legacy-prompt-examples`).

    One check per kind, naming each failing resource or prompt in its details: resource names may hold `-` and
    `.`, which a check's `tool` label (a tool name) cannot."""
    checks = []
    reads = [(item, example) for item in [*spec.resources, *spec.resource_templates] for example in item.examples]
    if reads:
        started = time.monotonic()
        problems = []
        for item, example in reads:
            uri = example.uri or getattr(item, "uri", "")
            answers.expect(example.answers)
            result, error = await _answer(lambda uri=uri: client.read_resource(uri))
            problem = read_problem(example, result.contents if result is not None else None, error)
            found = [p for p in [*answers.problems, answers.leftover(), problem] if p]
            problems.extend(f"{item.name}: read {uri}: {p}" for p in found)
        checks.append(_check(f"{prefix}resource-examples", "read examples pass", len(reads), problems, started))
    gets = [(prompt, example) for prompt in spec.prompts for example in prompt.examples]
    if gets:
        started = time.monotonic()
        problems = []
        for prompt, example in gets:
            arguments = example.arguments or None
            answers.expect(example.answers)
            result, error = await _answer(lambda n=prompt.name, a=arguments: client.get_prompt(n, a))
            problem = prompt_problem(example, result.messages if result is not None else None, error)
            found = [p for p in [*answers.problems, answers.leftover(), problem] if p]
            problems.extend(f"{prompt.name} {json.dumps(example.arguments)[:120]}: {p}" for p in found)
        checks.append(_check(f"{prefix}prompt-examples", "prompt examples pass", len(gets), problems, started))
    return checks


def _check(name: str, what: str, count: int, problems: list[str], started: float) -> Check:
    return Check(
        name, not problems, time.monotonic() - started, f"{count - len(problems)}/{count} {what}", details=problems
    )


async def kinds_checks(
    client: Any, spec: ServerSpec, answers: Answers, *, name: str, run_examples: bool
) -> list[Check]:
    """The listing check (named after the session, e.g. `protocol-resources`) and, optionally, the examples."""
    if not has_kinds(spec):
        return []
    started = time.monotonic()
    problems = await listing_problems(client, spec)
    counts = f"{len(spec.resources)} resources, {len(spec.resource_templates)} templates, {len(spec.prompts)} prompts"
    checks = [
        Check(
            f"{name}-resources-prompts",
            not problems,
            time.monotonic() - started,
            f"lists the spec's {counts}" if not problems else "resources or prompts differ from the spec",
            details=problems,
        )
    ]
    if run_examples:
        checks.extend(await example_checks(client, spec, answers, "" if name == "protocol" else f"{name}-"))
    return checks
