"""An environment variable a server reads: its name rule, whether it is secret, and its example value."""

from __future__ import annotations

from pydantic import Field, field_validator

from factory_bot.spec.params import ENV_NAME, MAX_NAME, MAX_TEXT, StrictModel


class EnvVar(StrictModel):
    """An environment variable the server reads (API key, base URL, setting)."""

    name: str
    description: str = Field("", max_length=MAX_TEXT)
    required: bool = False
    secret: bool = Field(False, description="Never echoed in logs or docs examples.")
    default: str | None = Field(None, max_length=MAX_TEXT)
    example: str | None = Field(None, max_length=MAX_TEXT, description="Value used while validating examples.")

    @field_validator("name")
    @classmethod
    def _env_name(cls, name: str) -> str:
        if not ENV_NAME.match(name) or len(name) > MAX_NAME:
            raise ValueError(f"env name {name!r} must be UPPER_SNAKE_CASE, e.g. WEATHER_API_KEY")
        return name
