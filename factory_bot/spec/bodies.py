"""Every code body of a spec, each with the field that holds it: tools, resources, resource templates,
completions and prompts all go through the same shape check and the same review marking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class Body(NamedTuple):
    field: str  # where the spec holds it, e.g. "resource_templates[0].code"
    label: str  # the name the generated file's code marker carries
    code: str
    written_by: str


def code_bodies(spec: Any) -> Iterator[Body]:
    """The code bodies of `spec`, in file order: tools first (their fields stay `tools[i].implementation.code`)."""
    for i, tool in enumerate(spec.tools):
        if tool.implementation.kind == "code":
            yield Body(
                f"tools[{i}].implementation.code", tool.name, tool.implementation.code, tool.implementation.written_by
            )
    for kind in ("resources", "resource_templates"):
        for i, resource in enumerate(getattr(spec, kind)):
            if resource.code is not None:
                yield Body(f"{kind}[{i}].code", resource.name, resource.code.code, resource.code.written_by)
            for name, variable in getattr(resource, "variables", {}).items():
                if variable.complete is not None and variable.complete.code is not None:
                    code = variable.complete.code
                    yield Body(f"{kind}[{i}].variables.{name}.complete.code", resource.name, code.code, code.written_by)
    for i, prompt in enumerate(spec.prompts):
        if prompt.code is not None:
            yield Body(f"prompts[{i}].code", prompt.name, prompt.code.code, prompt.code.written_by)
        for name, argument in prompt.arguments.items():
            if argument.complete is not None and argument.complete.code is not None:
                code = argument.complete.code
                yield Body(f"prompts[{i}].arguments.{name}.complete.code", prompt.name, code.code, code.written_by)
