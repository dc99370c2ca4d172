"""One root error; every error says what went wrong and what the user should do next."""

from __future__ import annotations

from dataclasses import dataclass


class FactoryError(Exception):
    """Root of every error the bot raises on purpose.

    `hint` is the next step for the user; the CLI and the GitHub status comment both show it.
    `exit_code` is what the CLI exits with: 2 = bad input, 1 = the build ran and failed, 3 = environment.
    """

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class SpecProblem:
    """One rule a spec breaks, located as precisely as the input allows."""

    field: str  # dotted path, e.g. "tools[2].input.b.type"
    message: str
    line: int | None = None  # 1-based line in the YAML source, when known
    source: str | None = None  # the file, when problems of several files are reported together
    column: int | None = None  # 1-based column, when the problem is one value inside its line (an example's)

    def render(self, source: str | None) -> str:
        where = self.source or source or "<spec>"
        if self.line:
            where = f"{where}:{self.line}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(FactoryError):
    """The spec (YAML or model output) breaks the spec rules. Bad input: exit 2."""

    exit_code = 2

    def __init__(self, problems: list[SpecProblem], *, source: str | None = None, hint: str | None = None) -> None:
        self.problems = problems
        self.source = source
        lines = [p.render(source) for p in problems]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"invalid spec ({count}):\n" + "\n".join(f"  {line}" for line in lines),
            hint=hint or "fix the fields named above; `factory-bot schema` prints every field the spec accepts",
        )


class RequestError(FactoryError):
    """A request (issue body, free text) cannot be turned into a spec. Bad input: exit 2."""

    exit_code = 2


class ConfigError(FactoryError):
    """Missing or invalid configuration (API key, token, policy file). Exit 2."""

    exit_code = 2


class CommandError(FactoryError):
    """A subprocess (node, npm, tsc, git) failed or timed out."""

    exit_code = 3

    def __init__(
        self,
        command: list[str],
        *,
        returncode: int | None,
        output: str,
        hint: str | None = None,
        timed_out: bool = False,
        not_found: bool = False,
    ) -> None:
        self.command = command
        self.returncode = returncode
        self.output = output
        self.timed_out = timed_out
        self.not_found = not_found
        if not_found:  # it never started: say so, not "exited with None"
            super().__init__(f"`{command[0]}` is not installed or not on PATH", hint=hint)
            return
        tail = "\n".join(output.strip().splitlines()[-20:])
        what = "timed out" if timed_out else f"exited with {returncode}"
        super().__init__(f"`{' '.join(command)}` {what}" + (f":\n{tail}" if tail else ""), hint=hint)


class ToolchainError(FactoryError):
    """The shared Node toolchain is missing or broken."""

    exit_code = 3


class ValidationFailed(FactoryError):
    """The generated server was built but failed one or more checks. Exit 1."""

    exit_code = 1


class ForgeError(FactoryError):
    """The forge (GitHub, or the local stand-in) refused or failed an operation."""

    exit_code = 3


class PolicyError(FactoryError):
    """The requester may not ask for this now (permission, rate limit, size). Exit 2."""

    exit_code = 2


class IntegrityError(FactoryError):
    """What a job that ran generated code handed over does not hold up: a forged or garbled report, bytes other
    than the trusted rebuild's, or a package with install scripts. Possible tampering; nothing is published.
    Exit 2."""

    exit_code = 2


class OpenAPIError(FactoryError):
    """An OpenAPI document cannot be imported as it is (unreadable, hostile, a refused `$ref`, too many
    operations for one server). `where` locates it: a file, a JSON pointer, an operation. Bad input: exit 2."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
