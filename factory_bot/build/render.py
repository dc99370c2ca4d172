"""Spec → the files of a TypeScript MCP server (jinja2 over templates/server/).

Every string from a spec reaches generated files through one of the escaping filters below (`js` for
TypeScript/JSON, `md` for Markdown); code bodies are the only text inserted verbatim, between markers that
let the validator map compiler errors back to the tool. Same spec → byte-identical files.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jinja2

from factory_bot.build import (
    clients,
    code_body,
    listed_schema,
    readme,
    render_asks,
    render_content,
    render_kinds,
    render_schema,
    toolchain,
)
from factory_bot.spec import publishing, raw_schema, schema_types
from factory_bot.spec.model import CodeImplementation, HttpImplementation, ServerSpec, Tool
from factory_bot.spec.params import Param, local_name
from factory_bot.text import js, md, templates_dir

CODE_BEGIN = "// ── begin code: tools[{index}] {name} ──"
CODE_END = "// ── end code ──"
GENERATOR = "MCP Factory"


# The esbuild command lines, run by the bundle check and written into the package's `bundle` script.
# The server: src/index.ts as one CommonJS file, so the command (START_ARGS) can compile it through a V8 code cache
# (vm.Script compiles scripts, not ES modules, on Node 20). CommonJS also keeps each import of a module that only
# `--http` reaches (node:http, node:http2, node:crypto) inside that module's lazy initializer, where ESM output
# hoisted them to the top of the file, to load at every start. Minified, with a source map beside it
# (dist/server.cjs.map, in the package) that maps stack traces to file:line without a copy of every source (a
# quarter of the size); --preserve-symlinks keeps module paths as `node_modules/...` through the server's
# node_modules link, never the cache's location or a temp dir.
BUNDLE_ARGS = (
    "src/index.ts",
    "--bundle",
    "--platform=node",
    "--format=cjs",
    "--target=node20",
    "--minify",
    "--sourcemap",
    "--sources-content=false",
    "--legal-comments=none",
    "--charset=ascii",  # esbuild's default, written down: the command reads the bundle as one byte a character
    "--preserve-symlinks",
    "--alias:@modelcontextprotocol/server/_shims=./src/shims.ts",
    # A code body's `await import("node:child_process")` becomes a require: vm.Script (the command on Node 20)
    # runs no dynamic import without an experimental flag. And import.meta, empty in CommonJS, fails the bundle.
    "--supported:dynamic-import=false",
    "--log-override:empty-import-meta=error",
    # Before any schema is built (zod reads it per object schema): zod parses without compiling a validator per
    # object schema with `new Function`, which cost each start ~5 ms for schemas parsed once or twice.
    # No `;` or spaces: package.json's `bundle` script is these arguments joined by spaces, run by a shell.
    "--banner:js=globalThis.__zod_globalConfig={jitless:true}",
    "--outfile=dist/server.cjs",
)
# The command, dist/index.js (the package's `bin`): src/start.ts, which loads dist/server.cjs through this user's
# compile cache. CommonJS too (package.json's "type"; src/package.json keeps src/ ES modules for tsc); node
# built-ins only; left readable (about a hundred lines), no source map needed.
START_ARGS = (
    "src/start.ts",
    "--platform=node",
    "--format=cjs",
    "--target=node20",
    "--legal-comments=none",
    "--outfile=dist/index.js",
)


def bundle_script() -> str:
    """package.json's `bundle` script: both esbuild runs, as the build runs them."""
    return " && ".join("esbuild " + " ".join(args) for args in (BUNDLE_ARGS, START_ARGS))


def zod(param: Param, *, strict: bool = False) -> str:
    """The zod 4 expression for a parameter type (its JSON Schema matches Param.json_schema).

    `strict` (inputs) refuses unknown object properties by name; outputs drop them (see runtime `conform`).
    """
    kind = param.type
    if param.ref is not None:  # the tool file's const of that type (registered with its name: a $defs entry)
        expr = schema_types.type_local(param.ref)
    elif param.anyOf is not None:  # zod lists a union as anyOf
        expr = f"z.union([{', '.join(zod(choice, strict=strict) for choice in param.anyOf)}])"
    elif param.enum is not None and kind == "string":
        expr = f"z.enum([{', '.join(js(v) for v in param.enum)}])"
    elif param.enum is not None:
        expr = f"z.literal([{', '.join(js(v) for v in param.enum)}])"
    elif kind == "string":
        expr = "z.string()" + _bounds(param.minLength, param.maxLength)
    elif kind in ("number", "integer"):
        expr = ("z.number()" if kind == "number" else "z.number().int()") + _bounds(param.minimum, param.maximum)
    elif kind == "boolean":
        expr = "z.boolean()"
    elif kind == "array":
        assert param.items is not None
        expr = f"z.array({zod(param.items, strict=strict)})" + _bounds(param.minItems, param.maxItems)
    elif not param.properties:
        expr = "z.looseObject({})"  # an object that declares no properties is free-form
    else:
        expr = zod_object(param.properties, strict=strict)
    if param.nullable:  # before the description, which zod then keeps outside the `or null`
        expr += ".nullable()"
    if param.header is not None:  # one .meta(): a second would replace the first's description
        meta = {"description": param.description} if param.description else {}
        expr += f".meta({js({**meta, 'x-mcp-header': param.header})})"
    elif param.description:
        expr += f".describe({js(param.description)})"
    if param.default is not None:
        expr += f".default({js(param.default)})"
    elif not param.required:
        expr += ".optional()"
    return expr


def zod_object(properties: dict[str, Param], *, strict: bool = False) -> str:
    """A zod object of `properties`: `z.strictObject` (unknown properties refused) when strict."""
    kind = "z.strictObject" if strict else "z.object"
    if not properties:
        return f"{kind}({{}})"
    fields = ", ".join(f"{js(name)}: {zod(p, strict=strict)}" for name, p in properties.items())
    return f"{kind}({{ {fields} }})"


def _bounds(low: float | None, high: float | None) -> str:
    def number(value: float) -> str:
        return js(int(value) if float(value).is_integer() else value)

    return (f".min({number(low)})" if low is not None else "") + (f".max({number(high)})" if high is not None else "")


def _ts_env_type(spec: ServerSpec) -> list[dict[str, Any]]:
    """Every environment variable the server reads, with its default (base URLs included)."""
    base_urls = spec.base_urls()
    entries = [
        {
            "name": e.name,
            "default": e.default if e.default is not None else base_urls.get(e.name),
            "description": e.description,
            "required": e.required,
            "secret": e.secret,
            "example": e.example,
        }
        for e in spec.env
    ]
    declared = {e.name for e in spec.env}
    for name, url in base_urls.items():
        if name not in declared:
            entries.append(
                {
                    "name": name,
                    "default": url,
                    "description": "Base URL of the upstream API.",
                    "required": False,
                    "secret": False,
                    "example": None,
                }
            )
    return entries


def _environment() -> jinja2.Environment:
    """One environment per templates folder and process: each template is parsed and compiled once, and
    reloaded only when its file changes (jinja checks the mtime on every use)."""
    return _environment_for(str(templates_dir()))


@functools.cache
def _environment_for(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # we generate TypeScript, JSON and Markdown; each value goes through js or md
    )
    env.filters.update(
        js=js, md=md, zod=zod, zod_object=zod_object, local=local_name, cell=lambda text: md(text, cell=True)
    )
    env.globals.update(CODE_END=CODE_END, GENERATOR=GENERATOR, input_rows=raw_schema.input_rows)
    return env


def input_names(tool: Tool) -> list[str]:
    """The inputs a code body gets as locals: the typed inputs, or the identifier-named properties of a verbatim
    `inputSchema`."""
    return raw_schema.input_names(tool.inputSchema) if tool.inputSchema is not None else list(tool.input)


def _tool_context(spec: ServerSpec, index: int, tool: Tool) -> dict[str, Any]:
    impl = tool.implementation
    raw = tool.inputSchema
    context: dict[str, Any] = {
        "spec": spec,
        "tool": tool,
        "index": index,
        "impl": impl,
        "code_begin": CODE_BEGIN.format(index=index, name=tool.name),
        "locals": [(name, local_name(name)) for name in input_names(tool)],
        "types": [(name, schema_types.type_local(name), t) for name, t in tool.types.items()],
        "input_type": render_schema.input_type(raw) if raw is not None else None,
        "uses_zod": lists_written_schema(tool),
        "input_listed": listed_schema.listed(tool.input_schema()) if raw is None else None,
        "output_listed": listed_schema.listed(output) if (output := tool.output_schema()) is not None else None,
    }
    if isinstance(impl, HttpImplementation):
        context["base_url_env"] = spec.base_url_env(impl)
        unsent = impl.placeholders() | {impl.body_input}
        context["body_fields"] = [] if impl.body_input else [n for n in tool.input if n not in unsent]
    imports = {"toolError"} | ({"toolResult"} if tool.returns == "value" else set())
    imports |= ({"conform"} if tool.output is not None else set()) | render_content.tool_imports(spec, tool)
    if isinstance(impl, HttpImplementation):
        imports |= {"callHttp", "env"}
    if isinstance(impl, CodeImplementation):
        code = impl.code if impl.code.endswith("\n") else impl.code + "\n"
        used = code_body.names(code)
        # Only what the body reads is declared: the source compiles under noUnusedLocals/noUnusedParameters.
        context["locals"] = [(name, local) for name, local in context["locals"] if local in used]
        context["args_param"] = "args" if context["locals"] or "args" in used else "_args"
        context["signal_param"] = "signal" if "signal" in used else "_signal"
        called = code_body.calls(code)
        inputs = {local_name(name) for name in input_names(tool)}  # an input named like a helper is the input
        imports |= {
            name
            for name in render_kinds.body_runtime_names(spec)
            if name in (called if name in render_content.CALLED else used) and name not in inputs
        }
        indented = code_body.can_indent(code)
        context["code"] = code_body.indent(code) if indented else code
        context["code_indent"] = "  " if indented else ""
    context["runtime_imports"] = sorted(imports, key=str.lower)
    context["asks_imports"] = render_asks.tool_imports(tool)
    return context


def lists_written_schema(tool: Tool) -> bool:
    """Whether the tool has a zod schema (its typed inputs, or its output), and so lists that schema's JSON Schema
    written into its source (src/listed.ts); a verbatim inputSchema is listed as written, through fromJsonSchema."""
    return tool.inputSchema is None or tool.output is not None


def tool_file(tool: Tool) -> str:
    return f"src/tools/{tool.name}.ts"


def render_server(spec: ServerSpec) -> dict[str, str]:
    """All files of the generated server, as relative path → text (sorted, deterministic)."""
    env = _environment()
    context = {
        "spec": spec,
        "env_vars": _ts_env_type(spec),
        "versions": toolchain.pinned_versions(),
        "bundle_script": bundle_script(),
        "tool_files": [(t, tool_file(t)) for t in spec.tools],
        "snippets": clients.snippets(spec),
        "install": clients.install_command(spec),
        "readme": readme.context(spec),
        "package": {"homepage": publishing.homepage(spec), "repository": publishing.repository_url(spec)},
        "instructions": spec.server_instructions,  # what index.ts gives the client on initialize
        **render_content.context(spec),
        "capabilities": render_kinds.fixed_list_capabilities(spec) | ({"logging": {}} if spec.logging else {}),
        "sessions_default": render_asks.sessions_by_default(spec),
        "asks_module": bool(render_asks.spec_asks(spec)),  # src/asks.ts: some tool or prompt asks
    }
    files = {
        "LICENSE": license_file(spec),
        "package.json": env.get_template("server/package.json.j2").render(context),
        "tsconfig.json": env.get_template("server/tsconfig.json.j2").render(context),
        ".gitignore": env.get_template("server/gitignore.j2").render(context),
        "README.md": env.get_template("server/README.md.j2").render(context),
        "src/index.ts": env.get_template("server/src/index.ts.j2").render(context),
        "src/cli.ts": env.get_template("server/src/cli.ts.j2").render(context),
        "src/http.ts": env.get_template("server/src/http.ts.j2").render(context),
        "src/stdio.ts": env.get_template("server/src/stdio.ts.j2").render(context),
        "src/shims.ts": env.get_template("server/src/shims.ts.j2").render(context),
        "src/start.ts": env.get_template("server/src/start.ts.j2").render(context),
        "src/package.json": env.get_template("server/src/package.json.j2").render(context),
        "src/runtime.ts": env.get_template("server/src/runtime.ts.j2").render(context),
        "src/sessions.ts": env.get_template("server/src/sessions.ts.j2").render(context),
    }
    if any(lists_written_schema(tool) for tool in spec.tools):
        files["src/listed.ts"] = env.get_template("server/src/listed.ts.j2").render(context)
    tool_template = env.get_template("server/src/tools/tool.ts.j2")
    for index, tool in enumerate(spec.tools):
        files[tool_file(tool)] = tool_template.render(context | _tool_context(spec, index, tool))

    def render_part(name: str, extra: dict[str, Any]) -> str:
        return env.get_template(name).render(context | extra)

    files |= render_kinds.kinds_files(spec, render_part)
    files |= render_content.files(spec, render_part)
    files |= render_asks.asks_files(spec, render_part)
    files["package-lock.json"] = package_lock(spec)
    return dict(sorted(files.items()))


def license_file(spec: ServerSpec) -> str:
    """The LICENSE text: the spec's own `license_text`, else the bundled text of its SPDX id."""
    if spec.license_text is not None:
        text = spec.license_text.replace("\r\n", "\n")
    else:
        template = templates_dir() / "server" / "licenses" / f"{spec.license}.txt"
        text = template.read_text(encoding="utf-8").replace("{holder}", publishing.copyright_holder(spec))
    return text if text.endswith("\n") else text + "\n"


def package_lock(spec: ServerSpec) -> str:
    """The server's lockfile: the toolchain's lock with the root package renamed.

    The server's devDependencies are exactly the toolchain's, so the toolchain's resolved tree is the
    server's resolved tree; deriving it keeps builds offline and the pins in one place.
    """
    lock = toolchain.lockfile()
    lock["name"] = spec.npm_package
    lock["version"] = spec.version
    root = dict(lock["packages"][""])
    root.update({"name": spec.npm_package, "version": spec.version, "license": spec.license})
    root.pop("description", None)
    root["bin"] = {spec.name: "dist/index.js"}
    root["engines"] = {"node": f">={toolchain.MIN_NODE_MAJOR}"}
    ordered = {k: root[k] for k in ("name", "version", "license", "bin", "devDependencies", "engines") if k in root}
    lock["packages"][""] = ordered | {k: v for k, v in root.items() if k not in ordered}
    return json.dumps(lock, indent=2, ensure_ascii=True) + "\n"


def _remove_stale(directory: Path, files: dict[str, str]) -> None:
    """Remove what an earlier render wrote and this one does not: tool files, and any source file that carries
    the generated-file mark (a spec that dropped its resources, prompts, content tools or asks). Other files stay."""
    src = directory / "src"
    for path in sorted(src.rglob("*.ts")) if src.is_dir() else []:
        relative = path.relative_to(directory).as_posix()
        if relative in files:
            continue
        head = path.read_text(encoding="utf-8", errors="replace")[:300]
        if relative.startswith("src/tools/") or f"// Generated by {GENERATOR} from the spec of" in head:
            path.unlink()


def write_server(spec: ServerSpec, directory: str | Path) -> dict[str, str]:
    """Render into `directory`, replacing generated files and removing stale ones (see _remove_stale)."""
    directory = Path(directory)
    files = render_server(spec)
    _remove_stale(directory, files)
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return files
