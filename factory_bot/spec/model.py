"""The spec model: the single source of truth for what a server is.

The JSON Schema (`factory-bot schema`), the LLM's output schema, the templates' inputs and the docs all
derive from these classes. Rules a spec must meet live here as validators, so a spec that constructs is a
spec that renders.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from factory_bot.spec import content, publishing, raw_schema, schema_types
from factory_bot.spec.asks import Ask, asks_problem
from factory_bot.spec.env import EnvVar
from factory_bot.spec.examples import Example
from factory_bot.spec.http import HttpImplementation
from factory_bot.spec.params import (
    BIDI_CONTROLS,
    INVISIBLE,
    MAX_CODE,
    MAX_DESCRIPTION,
    MAX_ENV,
    MAX_EXAMPLES,
    MAX_NAME,
    MAX_TEXT,
    MAX_TOOLS,
    SEMVER,
    SERVER_NAME,
    TOOL_NAME,
    Param,
    StrictModel,
    check_param_names,
    object_schema,
    schema_errors,
)
from factory_bot.spec.prompts import MAX_PROMPTS, Prompt
from factory_bot.spec.requests import ExpectedRequest, UpstreamReply  # noqa: F401 (re-exported)
from factory_bot.spec.resources import MAX_RESOURCES, Resource, ResourceTemplate, unique_names
from factory_bot.spec.source import OpenAPISource


class Annotations(StrictModel):
    """Hints for clients about a tool's behaviour (MCP ToolAnnotations)."""

    readOnlyHint: bool | None = None
    destructiveHint: bool | None = None
    idempotentHint: bool | None = None
    openWorldHint: bool | None = None


class CodeImplementation(StrictModel):
    """A TypeScript function body. Inputs are typed locals (reserved words get a trailing `_`),
    `args` holds them all, `env` the declared environment, `log(...)` writes to stderr (secrets redacted; with
    server `logging: true` also to the client), `progress(done, total)` reports progress, a `returns: content`
    tool returns `text()`, `image()`, `audio()`, `resource()`, `resourceLink()` blocks,
    `signal` is the call's AbortSignal (aborted when the client cancels or disconnects: pass it to fetch);
    it may `await`; a throw becomes an error result; console output goes to stderr, never stdout."""

    kind: Literal["code"]
    code: str = Field(min_length=1, max_length=MAX_CODE)
    written_by: Literal["human", "model"] = Field(
        "human", description="`model` when Claude wrote the body: reviewers read it with that in mind."
    )

    @field_validator("code")
    @classmethod
    def _no_hidden_characters(cls, code: str) -> str:
        code = code.replace("\r\n", "\n")  # bodies pasted from Windows or issue forms arrive with CRLF
        for pattern, what, fix in (
            (BIDI_CONTROLS, "invisible bidirectional control", " (Trojan Source); remove it"),
            (INVISIBLE, "invisible character", "; write it as an escape such as \\u200b inside a string instead"),
        ):
            match = pattern.search(code)
            if match:
                line = code.count("\n", 0, match.start()) + 1
                raise ValueError(f"code contains the {what} U+{ord(match.group()):04X} on line {line} of the body{fix}")
        return code


Implementation = Annotated[CodeImplementation | HttpImplementation, Field(discriminator="kind")]


class Tool(StrictModel):
    """One tool the server offers."""

    name: str
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    types: dict[str, Param] = Field(
        default_factory=dict, max_length=schema_types.MAX_TYPES, description=schema_types.TYPES_DOC
    )
    input: dict[str, Param] = Field(default_factory=dict)
    inputSchema: dict[str, Any] | None = Field(None, description=raw_schema.DOC)
    output: Param | None = Field(None, description="When set: outputSchema + structuredContent.")
    returns: Literal["value", "content"] = Field("value", description=content.RETURNS_DOC)
    annotations: Annotations | None = None
    implementation: Implementation
    asks: list[Ask] = Field(
        default_factory=list,
        description="What the code body asks the client while it runs: elicitation: `await elicit(message, "
        "schema)`; sampling: `await sample(messages, {maxTokens})`; roots: `await listRoots()`; reconnect: "
        "`reconnect()` ends the call's HTTP stream, and the client picks up the rest with Last-Event-ID.",
    )
    examples: list[Example] = Field(default_factory=list, max_length=MAX_EXAMPLES)

    @field_validator("name")
    @classmethod
    def _tool_name(cls, name: str) -> str:
        if not TOOL_NAME.match(name) or len(name) > MAX_NAME:
            raise ValueError(
                f"tool name {name!r} must start with a letter and use only letters, digits and _, "
                f"at most {MAX_NAME} characters (clients reject longer names), e.g. convert_units"
            )
        return name

    @field_validator("input")
    @classmethod
    def _input_names(cls, params: dict[str, Param]) -> dict[str, Param]:
        check_param_names(params)
        return params

    @field_validator("inputSchema")
    @classmethod
    def _raw_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if schema is None else raw_schema.checked(schema)

    def input_schema(self) -> dict[str, Any]:
        if self.inputSchema is not None:  # verbatim: the server lists it as written
            return self.inputSchema
        return schema_types.with_defs(object_schema(self.input), self.types)

    def output_schema(self) -> dict[str, Any] | None:
        """MCP wants an object outputSchema: anything else is wrapped as {"result": …}."""
        if self.output is None:
            return None
        if self.output_is_wrapped:
            return object_schema({"result": self.output})
        return self.output.json_schema()

    @property
    def output_is_wrapped(self) -> bool:
        return self.output is not None and (self.output.type != "object" or self.output.nullable)

    @model_validator(mode="after")
    def _examples_fit(self) -> Tool:
        schema_types.check_types(self.name, self.types, self.input, self.output)
        raw_schema.check_tool(self)
        content.check_tool(self)
        Param.check_headers(self.input, self.output)
        schema = self.input_schema()  # closed: additionalProperties false, like the server's zod object
        for index, example in enumerate(self.examples):
            errors = schema_errors(example.input, schema)
            if errors:
                raise ValueError(f"examples[{index}].input does not match the tool's input: {errors[0]}")
            if example.expects_output and self.output is not None:
                errors = schema_errors(example.output, self.output.json_schema())
                if errors:
                    raise ValueError(f"examples[{index}].output does not match `output`: {errors[0]}")
            for part in ("upstream", "request"):
                if getattr(example, part) is not None and self.implementation.kind != "http":
                    raise ValueError(f"examples[{index}].{part} only applies to http tools")
            if example.upstream is None and self.implementation.kind == "http":
                raise ValueError(
                    f"examples[{index}] of an http tool needs `upstream: {{status, body}}`, the reply the API "
                    "gives, so validation can run it offline against a local stub"
                )
        if problem := asks_problem(self.asks, self.implementation.kind, [e.answers for e in self.examples]):
            raise ValueError(problem)
        if isinstance(self.implementation, HttpImplementation):
            impl = self.implementation
            unknown = (impl.placeholders() | ({impl.body_input} if impl.body_input else set())) - set(self.input)
            if unknown:
                raise ValueError(
                    f"implementation uses {{{sorted(unknown)[0]}}} but the tool has no such input; "
                    f"inputs are: {', '.join(self.input) or 'none'}"
                )
            unsent = set(self.input) - impl.placeholders() - {impl.body_input}
            if impl.body_input is not None and unsent:
                raise ValueError(
                    f"the input {sorted(unsent)[0]} is not sent: the body is the input {impl.body_input}, and "
                    "path, query, headers and cookies do not use it"
                )
        return self


class ServerSpec(StrictModel):
    """An MCP server: its name, version, environment and tools."""

    name: str = Field(description="kebab-case; the npm package, command and server name.")
    version: str = Field(description="Semantic version, e.g. 1.0.0.")
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    instructions: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_DESCRIPTION,
        description="What the server tells the model on initialize; default: the description and when to use "
        "each tool.",
    )
    package: str | None = Field(
        None,
        max_length=publishing.MAX_NPM_NAME,
        description="npm package name; default @<owner>/<name> when `repository` is on GitHub, else `name`.",
    )
    license: str = Field(
        publishing.DEFAULT_LICENSE,
        max_length=MAX_NAME,
        description=f"SPDX id. The bot writes LICENSE for {', '.join(publishing.BUNDLED_LICENSES)}; "
        "any other id needs `license_text`.",
    )
    license_text: str | None = Field(
        None, min_length=1, max_length=publishing.MAX_LICENSE_TEXT, description="The LICENSE file's text."
    )
    author: str | None = Field(None, pattern=r"^[^\r\n]+$", max_length=MAX_TEXT, description="'Name <email> (url)'.")
    repository: str | None = Field(
        None,
        max_length=MAX_TEXT,
        description="Source repository URL, e.g. https://github.com/acme/servers; a GitHub owner scopes the npm "
        "name and gives the MCP registry name io.github.<owner>/<name>.",
    )
    homepage: str | None = Field(
        None, pattern=r"^https?://\S+$", max_length=MAX_TEXT, description="Default: the repository's README."
    )
    env: list[EnvVar] = Field(default_factory=list, max_length=MAX_ENV)
    logging: bool = Field(False, description=content.LOGGING_DOC)
    tools: list[Tool] = Field(min_length=1, max_length=MAX_TOOLS)
    # Resources and prompts (issue #13): their models and rules live in resources.py and prompts.py.
    resources: list[Resource] = Field(default_factory=list, max_length=MAX_RESOURCES)
    resource_templates: list[ResourceTemplate] = Field(default_factory=list, max_length=MAX_RESOURCES)
    prompts: list[Prompt] = Field(default_factory=list, max_length=MAX_PROMPTS)
    source: OpenAPISource | None = Field(
        None, description="Imported specs: the OpenAPI document and the choices `import openapi --update` keeps."
    )

    @field_validator("name")
    @classmethod
    def _server_name(cls, name: str) -> str:
        if not SERVER_NAME.match(name) or len(name) > MAX_NAME:
            suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            hint = f", e.g. {suggestion!r}" if suggestion and SERVER_NAME.match(suggestion) else ""
            raise ValueError(
                f"server name {name!r} must be kebab-case (lowercase letters, digits, single hyphens), "
                f"at most {MAX_NAME} characters{hint}"
            )
        return name

    @field_validator("version")
    @classmethod
    def _semver(cls, version: str) -> str:
        if not SEMVER.match(version):
            raise ValueError(f"version {version!r} is not semantic versioning (MAJOR.MINOR.PATCH), e.g. 1.0.0")
        return version

    @field_validator("package")
    @classmethod
    def _npm_name(cls, package: str | None) -> str | None:
        if package is not None and not publishing.NPM_NAME.match(package):
            raise ValueError(
                f"package {package!r} is not an npm name: lowercase letters, digits, - . _ ~, "
                "optionally scoped, e.g. @acme/weather"
            )
        return package

    @field_validator("repository")
    @classmethod
    def _repository_url(cls, repository: str | None) -> str | None:
        if repository is not None and not publishing.REPOSITORY_URL.match(repository):
            raise ValueError(f"repository {repository!r} is not a git URL, e.g. https://github.com/acme/servers")
        return repository

    @model_validator(mode="after")
    def _license_has_a_text(self) -> ServerSpec:
        if not publishing.SPDX_ID.match(self.license):
            raise ValueError(f"license {self.license!r} is not an SPDX id, e.g. MIT or Apache-2.0")
        if self.license not in publishing.BUNDLED_LICENSES and self.license_text is None:
            raise ValueError(
                f"license {self.license}: the bot writes LICENSE only for "
                f"{', '.join(publishing.BUNDLED_LICENSES)}; give the file's words in `license_text`"
            )
        return self

    @model_validator(mode="after")
    def _names_unique_and_env_declared(self) -> ServerSpec:
        seen: set[str] = set()
        for tool in self.tools:
            if tool.name in seen:
                raise ValueError(f"two tools are named {tool.name!r}; tool names must be unique")
            seen.add(tool.name)
        unique_names(self)
        content.check_logging(self)
        env_names = [e.name for e in self.env]
        duplicates = {n for n in env_names if env_names.count(n) > 1}
        if duplicates:
            raise ValueError(f"env {sorted(duplicates)[0]} is declared twice")
        bases: dict[str, str] = {}
        for tool in self.tools:
            impl = tool.implementation
            if not isinstance(impl, HttpImplementation):
                continue
            for where, ref in impl.env_references():
                if ref not in env_names:
                    raise ValueError(
                        f"tool {tool.name}: {where} uses ${{{ref}}} but env does not declare it; "
                        f"add `- {{name: {ref}, secret: true}}` under env"
                    )
            env = self.base_url_env(impl)
            if bases.setdefault(env, impl.base_url) != impl.base_url:
                raise ValueError(
                    f"tool {tool.name}: {env} already overrides {bases[env]}; give this base_url its own base_url_env"
                )
        return self

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")

    def base_url_env(self, impl: HttpImplementation) -> str:
        return impl.base_url_env or f"{self.env_prefix}_BASE_URL"

    def base_urls(self) -> dict[str, str]:
        """Env var → default base URL, for every http tool."""
        return {
            self.base_url_env(t.implementation): t.implementation.base_url
            for t in self.tools
            if isinstance(t.implementation, HttpImplementation)
        }

    @property
    def npm_package(self) -> str:
        return publishing.npm_package(self)

    @property
    def mcp_name(self) -> str | None:
        return publishing.mcp_name(self)

    @property
    def server_instructions(self) -> str:
        return publishing.instructions(self)

    @property
    def has_model_code(self) -> bool:
        from factory_bot.spec.bodies import code_bodies

        return any(body.written_by == "model" for body in code_bodies(self))


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors and for the model's structured output."""
    schema = ServerSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MCP Factory server spec"
    return schema
