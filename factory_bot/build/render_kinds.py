"""The template inputs of src/resources.ts and src/prompts.ts: a spec's resources, resource templates and
prompts, shaped as the SDK wants them (spec strings stay data; the templates pass them through `js`)."""

from __future__ import annotations

from typing import Any

from factory_bot.build import code_body, render_asks, render_content
from factory_bot.spec.content import mcp_content
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.params import local_name
from factory_bot.spec.prompts import Prompt
from factory_bot.spec.resources import ResourceCode
from factory_bot.text import js

CODE_BEGIN = "// ── begin code: {field} {label} ──"  # same shape as a tool's marker: static checks map tsc errors back
# The generated read function's own names: a template variable with one of them is bound as `<name>_`.
WRAPPER_NAMES = frozenset({"uri", "variables", "value", "one", "number", "contents", "prefixed"})


def _body(field: str, label: str, code: ResourceCode) -> dict[str, Any]:
    text = code.code if code.code.endswith("\n") else code.code + "\n"
    begin = CODE_BEGIN.format(field=field, label=label)
    if code.written_by == "model":  # as a tool file says it: reviewers read such a body with that in mind
        begin = "// This code body was written by a model: review it.\n" + begin
    used = code_body.names(code.code)
    used = (used - set(render_content.CALLED)) | (code_body.calls(code.code) & set(render_content.CALLED))
    # noUnusedParameters: a wrapper parameter the body never reads is named `_x` (as in a tool's `_args`)
    params = {name: name if name in used else f"_{name}" for name in ("uri", "variables", "value", "args")}
    return {"code_begin": begin, "code": text, "uses": used, "param": params}


def fixed_list_capabilities(spec: ServerSpec) -> dict[str, Any]:
    """The server's list capabilities, each `listChanged: false`: the lists are fixed at build time, and the SDK
    would otherwise promise list_changed notifications (2026-07-28 clients then wait for them on listen streams)."""
    kinds = ["tools"] + (["resources"] if spec.resources or spec.resource_templates else [])
    return {kind: {"listChanged": False} for kind in kinds + (["prompts"] if spec.prompts else [])}


def body_runtime_names(spec: ServerSpec) -> tuple[str, ...]:
    """The names of runtime.ts a code body may read: env and log, resourceUpdated when runtime has it (the
    spec has a subscribable resource), progress and the content helpers when runtime has them (see
    render_content). A file imports the ones its bodies read (noUnusedLocals); those of render_content.CALLED
    only where a body calls them."""
    subscribed = ("resourceUpdated",) if any(r.subscribe for r in spec.resources) else ()
    return ("env", "log", *subscribed, *render_content.runtime_names(spec))


def _runtime_imports(spec: ServerSpec, bodies: list[dict[str, Any]], *, own: tuple[str, ...] = ()) -> list[str]:
    """What a kinds file imports from runtime.ts: the names the file itself calls (`own`), and those its bodies
    read."""
    used = set().union(*(body["uses"] for body in bodies)) if bodies else set()
    candidates = dict.fromkeys((*body_runtime_names(spec), *own))  # in this order, each once
    return [name for name in candidates if name in own or name in used]


def _metadata(item: Any) -> dict[str, Any]:
    """ResourceMetadata: what resources/list shows besides uri and name."""
    return {k: v for k in ("title", "description", "mimeType") if (v := getattr(item, k))}


def _local(name: str) -> str:
    return f"{name}_" if name in WRAPPER_NAMES else local_name(name)


def resources_context(spec: ServerSpec) -> dict[str, Any]:
    static = []
    for index, resource in enumerate(spec.resources):
        entry: dict[str, Any] = {"resource": resource, "metadata": _metadata(resource), "code": None}
        if resource.code is not None:
            entry |= _body(f"resources[{index}].code", resource.name, resource.code)
        else:
            entry["inline"] = {"text": resource.text} if resource.text is not None else {"blob": resource.blob}
        static.append(entry)
    templates = []
    for index, template in enumerate(spec.resource_templates):
        field = f"resource_templates[{index}]"
        used = code_body.names(template.code.code)
        variables = template.variable_types
        complete = [
            (name, v.complete.values, v.complete.code) for name, v in variables.items() if v.complete is not None
        ]
        templates.append(
            {
                "template": template,
                "metadata": _metadata(template),
                # a variable the body never reads is not bound; a number is still checked (the URI must be valid)
                "locals": [(name, _local(name), v.type, _local(name) in used) for name, v in variables.items()],
                "complete": complete,
                "reads_variables": "variables" in used
                or any(v.type != "string" or _local(n) in used for n, v in variables.items()),
                "completions": [
                    (name, _body(f"{field}.variables.{name}.complete.code", template.name, code))
                    for name, _values, code in complete
                    if code is not None
                ],
            }
            | _body(f"{field}.code", template.name, template.code)
        )
    subscribable = [r.uri for r in spec.resources if r.subscribe]
    bodies = [e for e in static if e["code"] is not None] + templates
    bodies += [body for t in templates for _name, body in t["completions"]]
    # with subscriptions the file logs failed notifications and listens for runtime's resourceUpdated
    hooks = ("log", "onResourceUpdated") if subscribable else ()
    imports = _runtime_imports(spec, bodies, own=hooks)
    return {
        "static": static,
        "templates": templates,
        "asks_imports": render_asks.kinds_imports([*spec.resources, *spec.resource_templates]),
        "subscribable": subscribable,
        "runtime_imports": imports,
        # each helper of the file only when something calls it (noUnusedLocals)
        "uses_number": any(v.type != "string" for t in spec.resource_templates for v in t.variable_types.values()),
        "uses_prefixed": any(values is not None for t in templates for _n, values, _c in t["complete"]),
    }


def _prompt(index: int, prompt: Prompt) -> dict[str, Any]:
    field = f"prompts[{index}]"
    arguments = []
    for name, argument in prompt.arguments.items():
        schema = "z.string()" + (f".describe({js(argument.description)})" if argument.description else "")
        arguments.append((name, argument, schema if argument.required else schema + ".optional()"))
    entry: dict[str, Any] = {
        "prompt": prompt,
        "arguments": arguments,
        "locals": [(name, local_name(name)) for name in prompt.arguments],  # narrowed to the used ones below
        "completions": [
            (name, _body(f"{field}.arguments.{name}.complete.code", prompt.name, a.complete.code))
            for name, a in prompt.arguments.items()
            if a.complete is not None and a.complete.code is not None
        ],
        "code": None,
    }
    if prompt.code is not None:
        entry |= _body(f"{field}.code", prompt.name, prompt.code)
        entry["locals"] = [(name, local) for name, local in entry["locals"] if local in entry["uses"]]
        if entry["locals"]:
            entry["param"]["args"] = "args"
    else:
        entry["messages"] = [{"role": m.role, "content": mcp_content(m.content)} for m in prompt.messages or []]
    return entry


def prompts_context(spec: ServerSpec) -> dict[str, Any]:
    prompts = [_prompt(i, p) for i, p in enumerate(spec.prompts)]
    bodies = [p for p in prompts if p["code"] is not None] + [b for p in prompts for _name, b in p["completions"]]
    return {
        "prompts": prompts,
        "runtime_imports": _runtime_imports(spec, bodies),
        "asks_imports": render_asks.kinds_imports(spec.prompts),
        "uses_messages": any(p.code is None for p in spec.prompts),
        "uses_arguments": any(p.arguments for p in spec.prompts),
        "uses_completable": any(a.complete is not None for p in spec.prompts for a in p.arguments.values()),
        "uses_code": any(p.code is not None for p in spec.prompts),
        "uses_prefixed": any(
            a.complete is not None and a.complete.values is not None for p in spec.prompts for a in p.arguments.values()
        ),
    }


def kinds_files(spec: ServerSpec, render: Any) -> dict[str, str]:
    """src/resources.ts and src/prompts.ts, each only when the spec has some (tools-only servers stay as they were).
    `render(template, extra_context)` renders one template with the server's context."""
    files = {}
    if spec.resources or spec.resource_templates:
        files["src/resources.ts"] = render("server/src/resources.ts.j2", resources_context(spec))
    if spec.prompts:
        files["src/prompts.ts"] = render("server/src/prompts.ts.j2", prompts_context(spec))
    return files
