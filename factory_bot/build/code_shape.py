"""Code bodies stay inside their function: checked with TypeScript's own parser before anything runs.

A spec's `implementation.code` is pasted verbatim into `async function run(...) { … }`. A body such as
`return text; } export const x = 1; function unused_(): void {` closes that function and puts code at the
top level of the module, where it runs at import in every server process. So each body is wrapped exactly
as the template wraps it, parsed by the toolchain's TypeScript (7.x, `typescript/unstable/sync`: the native
parser behind a node API, over a virtual file system), and must come out as one top-level statement — the
function — spanning the whole text, with no syntax errors. Braces in strings, template literals, comments
and regular expressions are the parser's business, not ours: no regex guesses here.

All bodies of a spec go through one node process, started early so it overlaps rendering, tsc and esbuild
(none of which run generated code); its verdict is awaited before validation starts the server.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from factory_bot import proc
from factory_bot.build.render import CODE_END
from factory_bot.build.toolchain import NODE_INSTALL_HINT, Toolchain
from factory_bot.errors import CommandError, SpecError, SpecProblem, ToolchainError
from factory_bot.spec.bodies import code_bodies
from factory_bot.spec.model import ServerSpec

HEAD = "async function __body(args: Input): Promise<Output> {\n"  # the body starts on the wrapper's line 2
TAIL = CODE_END + "\n}"
TIMEOUT = 60.0

# Reads {"typescript": dir, "bodies": [text, ...]} on stdin; prints per body its top-level statements and
# syntax errors, each with the 1-based line of the wrapped text (positions are UTF-16, so lines are counted
# here, in JS).
_SCRIPT = r"""
import { pathToFileURL } from "node:url";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { typescript, bodies } = JSON.parse(input);
const load = (path) => import(pathToFileURL(`${typescript}/dist/${path}`).href);
const [{ API }, { createVirtualFileSystem }] = await Promise.all([load("api/sync/api.js"), load("api/fs.js")]);
const names = bodies.map((_, i) => `/bodies/body${i}.ts`);
const files = { "/bodies/tsconfig.json": JSON.stringify({ compilerOptions: { noLib: true, types: [] },
                                                          files: names }) };
bodies.forEach((text, i) => { files[names[i]] = text; });
const api = new API({ fs: createVirtualFileSystem(files), cwd: "/bodies" });
try {
  const program = api.updateSnapshot({ openProjects: ["/bodies/tsconfig.json"] })
    .getProject("/bodies/tsconfig.json").program;
  const lineOf = (text, pos) => text.slice(0, Math.max(0, pos)).split("\n").length;
  const result = names.map((name, i) => {
    const text = bodies[i];
    const source = program.getSourceFile(name);
    return {
      length: text.length,
      statements: source.statements.map((s) => ({ pos: s.pos, end: s.end, endLine: lineOf(text, s.end - 1) })),
      errors: program.getSyntacticDiagnostics(name).map((d) => ({ line: lineOf(text, d.pos), text: d.text })),
    };
  });
  process.stdout.write(JSON.stringify(result));
} finally {
  api.close();
}
"""


def wrap(code: str) -> str:
    """The body as the template places it: same line breaks before and after, same end marker."""
    return HEAD + (code if code.endswith("\n") else code + "\n") + TAIL


def _where(field: str, wrapped_line: int, code: str) -> str:
    lines = code.count("\n") + (0 if code.endswith("\n") else 1)
    return f"{field} line {min(max(wrapped_line - 1, 1), lines)}"


def problems_in(parsed: dict, field: str, code: str) -> list[SpecProblem]:
    """The parser's view of one wrapped body → what the spec's author must fix (empty when it is fine).

    A function that ends before the text does is reported where it ends, unless a syntax error comes
    first (the parser may have closed it early while recovering from that error)."""
    statements, errors = parsed["statements"], parsed["errors"]
    function_ends = statements[0]["endLine"] if statements else 1
    closes_early = len(statements) > 1  # the function, then code of the body's own at the top level
    if errors and not (closes_early and errors[0]["line"] > function_ends):
        return [
            SpecProblem(_where(field, error["line"], code), f"syntax error: {error['text']}") for error in errors[:3]
        ]
    if not closes_early and statements and statements[0]["end"] == parsed["length"]:
        return []
    if not closes_early:  # no syntax error, yet the function does not end where the wrapper does
        return [SpecProblem(_where(field, code.count("\n") + 2, code), "the body does not end inside its function")]
    return [
        SpecProblem(
            _where(field, function_ends, code),
            "the body closes its function here, so the code after it would run at the top level "
            "of the module, on import; keep every statement inside the body (balance its braces)",
        )
    ]


@dataclass
class Pending:
    """A running shape check; `problems()` waits for it."""

    fields: list[str]  # where each body sits in the spec, e.g. tools[0].implementation.code
    codes: list[str]
    process: subprocess.Popen | None = None  # type: ignore[type-arg]
    _output: tuple[str, str] = ("", "")
    _thread: threading.Thread | None = field(default=None, repr=False)

    def _communicate(self, payload: str) -> None:
        assert self.process is not None
        try:
            self._output = self.process.communicate(payload, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill_group(self.process)
            self._output = self.process.communicate()

    def problems(self) -> list[SpecProblem]:
        if self.process is None:
            return []
        assert self._thread is not None
        self._thread.join()
        stdout, stderr = self._output
        try:
            parsed = json.loads(stdout)
        except ValueError:
            raise ToolchainError(
                "TypeScript's parser could not check the code bodies: "
                + (stderr.strip().splitlines() or ["no output"])[-1][:500],
                hint="run `factory-bot toolchain --verify`; reinstall it if it is broken",
            ) from None
        found: list[SpecProblem] = []
        for where, code, one in zip(self.fields, self.codes, parsed, strict=True):
            found += problems_in(one, where, code)
        return found

    def refuse_if_broken(self, source: str | None = None) -> None:
        """SpecError (bad input, exit 2) naming each body that does not stay inside its function."""
        found = self.problems()
        if found:
            raise SpecError(
                found,
                source=source,
                hint="a code body is the inside of one function: it may not close it or add declarations around it",
            )


def start(spec: ServerSpec, tools: Toolchain) -> Pending:
    """Parse every code body of spec in one node process, in the background."""
    bodies = list(code_bodies(spec))  # tools, resources, resource templates, completions and prompts alike
    pending = Pending([b.field for b in bodies], [b.code for b in bodies])
    if not bodies:
        return pending
    payload = json.dumps(
        {"typescript": str(Path(tools.node_modules) / "typescript"), "bodies": [wrap(code) for code in pending.codes]}
    )
    try:
        pending.process = proc.start(["node", "--input-type=module", "-e", _SCRIPT], stdin=True)
    except CommandError as exc:
        raise ToolchainError("node is not installed or not on PATH", hint=NODE_INSTALL_HINT) from exc
    pending._thread = threading.Thread(target=pending._communicate, args=(payload,), daemon=True)
    pending._thread.start()
    return pending


def check(spec: ServerSpec, tools: Toolchain) -> list[SpecProblem]:
    """Every body that does not stay inside its function, located (waits for the parser)."""
    return start(spec, tools).problems()
