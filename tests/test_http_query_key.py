"""An `http` tool sends its API key in the query, as a weather API wants it, and never repeats it.

`query: {appid: "${WEATHER_KEY}"}` fills the key from the environment; validation's stub sees it in the
request. A caller's `${WEATHER_KEY}` stays text (one pass). When the API fails and echoes the URL back (a 500,
a reply that is not JSON), or the call is refused or times out, no error text and no log line carries the key:
errors name the URL without its query.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build import pipeline
from factory_bot.build.pipeline import build_many
from factory_bot.build.protocol import StdioWithStderr
from factory_bot.build.stub import StubUpstream
from factory_bot.spec.loader import load_spec_text

from .test_build_e2e import npm_install_global
from .test_http_tools import closed_port

pytestmark = pytest.mark.e2e

KEY = "qk~7f3b!9e2d"  # `~` and `!`: encodeURIComponent keeps them, a query string encodes them
SENT = "qk%7E7f3b%219e2d"  # the key as the URL's query carries it
SPEC = f"""\
name: weather-now
version: 1.0.0
description: Current weather from an API that takes its key in the query.
env:
  - {{name: WEATHER_KEY, description: API key, secret: true, example: "{KEY}"}}
tools:
  - name: current
    description: The current weather in a city.
    input:
      city: {{type: string}}
    output:
      type: object
      properties:
        temp: {{type: number}}
    implementation:
      kind: http
      base_url: https://api.example.com
      path: /weather
      query: {{q: "{{city}}", appid: "${{WEATHER_KEY}}"}}
      timeout_ms: 1500
    examples:
      - input: {{city: Oslo}}
        upstream: {{body: {{temp: 3.5}}}}
        request: {{path: /weather, query: {{q: Oslo, appid: "${{WEATHER_KEY}}"}}}}
        output: {{temp: 3.5}}
      # A caller's value is text, never a reference: were it expanded, q would carry the key.
      - input: {{city: "${{WEATHER_KEY}}"}}
        upstream: {{body: {{temp: 0}}}}
        output: {{temp: 0}}
      # An API that echoes the URL it was called with: the key comes back raw and as the query string encodes it.
      - input: {{city: Bergen}}
        upstream:
          status: 500
          body: {{message: "bad key {KEY}", url: "/weather?q=Bergen&appid={SENT}"}}
        error: 'HTTP 500: {{"message": "bad key ***", "url": "/weather?q=Bergen&appid=***"}}'
      - input: {{city: Tromso}}
        upstream: {{body: "no JSON for key {KEY}"}}
        error: "did not answer JSON: no JSON for key ***"
"""


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real build of the spec, with every request the validation stub received."""
    stubs: list[StubUpstream] = []

    class RecordingStub(StubUpstream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stubs.append(self)

    out = tmp_path_factory.mktemp("weather-now")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "StubUpstream", RecordingStub)
        [result] = build_many([load_spec_text(SPEC)], out, jobs=1, use_cache=False)
    return {"result": result, "out": out, "requests": [r for stub in stubs for r in stub.requests]}


def queries(requests: list[dict[str, Any]]) -> list[dict[str, list[str]]]:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(r["path"]).query) for r in requests]


def test_the_key_reaches_the_api_in_the_query_and_validation_checks_it(weather) -> None:
    result = weather["result"]
    assert result.ok, [(c.name, c.tool, c.message, c.details[:3]) for c in result.report.failures]
    [examples] = [c for c in result.report.checks if c.name == "examples"]
    assert examples.ok and examples.message == "4/4 examples pass"
    sent = queries(weather["requests"])
    assert {"q": ["Oslo"], "appid": [KEY]} in sent
    assert all(query["appid"] == [KEY] for query in sent)


def test_a_callers_env_reference_is_sent_as_text(weather) -> None:
    sent = queries(weather["requests"])
    assert {"q": ["${WEATHER_KEY}"], "appid": [KEY]} in sent
    assert not any(query["q"] == [KEY] for query in sent)


def test_the_key_is_in_no_build_output(weather) -> None:
    out: Path = weather["out"]
    for path in [out / "weather-now.build.json", *sorted((out / "weather-now").rglob("*"))]:
        if path.is_file() and "node_modules" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert KEY not in text and "7f3b" not in text, path


class HangingApi:
    """A local API that never answers in time."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.paths.append(self.path)
                time.sleep(3)  # longer than the tool's timeout_ms

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


async def call(command: str, base_url: str, errlog: Path) -> Any:
    env = {"WEATHER_NOW_BASE_URL": base_url, "WEATHER_KEY": KEY}
    with errlog.open("w", encoding="utf-8") as stderr:
        async with Client(StdioWithStderr(StdioServerParameters(command=command, env=env), stderr)) as client:
            return await client.call_tool("current", {"city": "Oslo"})


def test_a_refused_or_timed_out_call_names_the_url_without_the_key(weather, tmp_path) -> None:
    command = str(npm_install_global(weather["result"].tgz, tmp_path / "prefix") / "weather-now")
    api = HangingApi()
    try:
        slow = anyio.run(call, command, api.url, tmp_path / "stderr-slow.txt")
        refused = anyio.run(call, command, f"http://127.0.0.1:{closed_port()}", tmp_path / "stderr-refused.txt")
    finally:
        api.server.shutdown()
    texts = {"slow": slow.content[0].text, "refused": refused.content[0].text}
    assert slow.is_error and refused.is_error, texts
    assert "/weather failed: timed out after 1500 ms" in texts["slow"]
    assert "/weather failed:" in texts["refused"] and "ECONNREFUSED" in texts["refused"]
    assert api.paths and all(f"appid={SENT}" in p for p in api.paths)  # it was sent
    logs = [p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("stderr-*.txt"))]
    for text in [*texts.values(), *logs]:
        assert KEY not in text and SENT not in text and "7f3b" not in text and "appid" not in text, text
