"""`http` tools send inputs as headers and cookies, an input as the whole JSON body, a union as given, and
return replies whose fields may be null.

An API that takes a trace id and a version in headers, a session in a cookie (beside the API key's cookie) and
a list of tags as its whole body: each example's `request:` is checked by validation's stub, an omitted
header or cookie is not sent at all, an input is never read as a `${ENV}` reference, and a value HTTP cannot
carry is refused before any request.
"""

from __future__ import annotations

from typing import Any

import pytest

from factory_bot.build import pipeline
from factory_bot.build.pipeline import build_many
from factory_bot.build.stub import StubUpstream
from factory_bot.errors import SpecError
from factory_bot.spec.loader import load_spec_text

KEY = "key-8c1d4e2a"
SPEC = f"""\
name: tagger
version: 1.0.0
description: Tags items through an API that reads headers, cookies and a JSON array body.
env:
  - {{name: TAGGER_API_KEY, description: API key, secret: true, example: "{KEY}"}}
tools:
  - name: tag_items
    description: Replace the tags of the items.
    input:
      trace: {{type: string, required: false, description: "Trace id, sent as X-Trace."}}
      version: {{type: integer, description: "API version, sent as X-Version."}}
      session: {{type: string, required: false}}
      tags: {{type: array, items: {{type: string}}, description: The whole body.}}
    implementation:
      kind: http
      method: PUT
      base_url: https://api.example.com
      path: /items/tags
      # `${{lower}}` is neither an env reference nor an input: it is sent as it is written.
      headers: {{X-Trace: "{{trace}}", X-Version: "v{{version}}", Cookie: "key=${{TAGGER_API_KEY}}", X-Note: "${{lower}}"}}
      cookies: {{session: "{{session}}"}}
      body: json
      body_input: tags
    examples:
      - input: {{trace: t-1, version: 2, session: s-9, tags: [red, blue]}}
        upstream: {{body: {{ok: true}}}}
        request:
          headers: {{x-trace: t-1, x-version: v2, cookie: "key=${{TAGGER_API_KEY}}; session=s-9", x-note: "${{lower}}"}}
          body: [red, blue]
      - input: {{version: 3, tags: []}}
        upstream: {{body: {{ok: true}}}}
        request: {{headers: {{x-version: v3, cookie: "key=${{TAGGER_API_KEY}}"}}, body: []}}
      # An input is text, never a reference: were it read as ${{TAGGER_API_KEY}}, the header would carry the key.
      - input: {{trace: "${{TAGGER_API_KEY}}", version: 1, tags: [x]}}
        upstream: {{body: {{ok: true}}}}
        request: {{body: [x]}}
      - input: {{trace: "t-2\\r\\nX-Admin: yes", version: 1, tags: []}}
        upstream: {{body: {{ok: true}}}}
        error: "the header X-Trace has a value HTTP cannot carry: a line break, NUL or non-Latin-1 character (check the input trace)"
      - input: {{session: "s-9; admin=1", version: 1, tags: []}}
        upstream: {{body: {{ok: true}}}}
        error: "the cookie session cannot carry"
  - name: rename
    description: Rename the item; its new name is the whole body, a JSON string.
    input:
      id: {{type: integer}}
      name: {{type: string, required: false}}
    implementation:
      kind: http
      method: POST
      base_url: https://api.example.com
      path: /items/{{id}}/name
      body: json
      body_input: name
    examples:
      - input: {{id: 7, name: Widget}}
        upstream: {{status: 204, body: ""}}
        request: {{path: /items/7/name, body: Widget}}
      - input: {{id: 7}}
        upstream: {{status: 204, body: ""}}
        request: {{path: /items/7/name, body: null}}
  - name: resize
    description: Resize an item; the API answers with its note, which may be null, and its size or null.
    input:
      id: {{type: integer}}
      size: {{anyOf: [{{type: string}}, {{type: number}}], description: A size name or a number.}}
    output:
      type: object
      properties:
        note: {{type: string, nullable: true}}
        size: {{type: object, nullable: true, properties: {{width: {{type: number}}}}}}
    implementation:
      kind: http
      method: PATCH
      base_url: https://api.example.com
      path: /items/{{id}}
      body: json
    examples:
      - input: {{id: 7, size: 2.5}}
        upstream: {{body: {{note: null, size: null}}}}
        request: {{body: {{size: 2.5}}}}
        output: {{note: null, size: null}}
      - input: {{id: 7, size: large}}
        upstream: {{body: {{note: big, size: {{width: 9}}}}}}
        request: {{body: {{size: large}}}}
        output: {{note: big, size: {{width: 9}}}}
"""


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real build of the spec, with every request the validation stub received."""
    stubs: list[StubUpstream] = []

    class RecordingStub(StubUpstream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stubs.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "StubUpstream", RecordingStub)
        [result] = build_many([load_spec_text(SPEC)], tmp_path_factory.mktemp("tagger"), jobs=1, use_cache=False)
    return {"result": result, "requests": [r for stub in stubs for r in stub.requests]}


@pytest.mark.e2e
def test_headers_cookies_and_a_whole_body_arrive_as_the_examples_say(tagger) -> None:
    result = tagger["result"]
    assert result.ok, [(c.name, c.tool, c.message, c.details[:3]) for c in result.report.failures]
    assert sum(c.name == "examples" and c.tool == "tag_items" for c in result.report.checks) == 1
    sent = [{k.lower(): v for k, v in r["headers"].items()} for r in tagger["requests"] if "/tags" in r["path"]]
    full, bare, reference = sent[:3]
    assert (full["x-trace"], full["cookie"]) == ("t-1", f"key={KEY}; session=s-9")
    assert "x-trace" not in bare and bare["cookie"] == f"key={KEY}"  # omitted inputs: no header, no cookie
    assert reference["x-trace"] == "${TAGGER_API_KEY}" and KEY not in reference["x-trace"]
    assert len(sent) == 3  # the line break and the semicolon were refused before any request


@pytest.mark.e2e
def test_a_nullable_output_and_a_union_input_pass_through_the_client(tagger) -> None:
    checks = [c for c in tagger["result"].report.checks if c.tool == "resize"]
    assert checks and all(c.ok for c in checks), [(c.name, c.message) for c in checks]
    sent = [r["body"] for r in tagger["requests"] if r["path"] == "/items/7"]
    assert sent == ['{"size":2.5}', '{"size":"large"}']


@pytest.mark.e2e
def test_an_omitted_whole_body_input_sends_no_body(tagger) -> None:
    renames = [r for r in tagger["requests"] if r["path"].endswith("/name")]
    assert [r["body"] for r in renames] == ['"Widget"', ""]
    assert "content-type" not in {k.lower() for k in renames[1]["headers"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": "none"}, "set body: json too"),
        ({"body_input": "missing"}, "uses {missing} but the tool has no such input"),
        ({"headers": {"X-Trace": "{nope}"}}, "uses {nope} but the tool has no such input"),
        ({"cookies": {"bad name": "{session}"}}, "'bad name' is not a valid cookie name"),
        ({"cookies": {"session": 'a "quoted" {session}'}}, "has a character a cookie cannot carry"),
        ({"body_input": "session"}, "the input tags is not sent: the body is the input session"),
    ],
)
def test_a_spec_that_would_send_an_input_nowhere_or_wrongly_is_refused(change: dict, message: str) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    data = yaml.load(SPEC)
    data["tools"] = data["tools"][:1]
    data["tools"][0]["examples"] = []
    data["tools"][0]["implementation"].update(change)
    if "headers" in change or "cookies" in change:
        data["tools"][0]["implementation"]["body_input"] = "tags"
    from io import StringIO

    text = StringIO()
    YAML().dump(data, text)
    with pytest.raises(SpecError) as refused:
        load_spec_text(text.getvalue())
    assert message in str(refused.value) or any(message in p.message for p in refused.value.problems)
