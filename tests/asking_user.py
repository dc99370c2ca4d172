"""The user behind a test client that servers ask: it fills in each form, its model answers, and it keeps what it
was asked. Shared by the tool, prompt and resource ask stories."""

from __future__ import annotations

from typing import Literal

from mcp import types


class User:
    """A client that fills in forms with `form` (or, when None, answers `refusal`: decline or cancel) and whose
    model answers `reply`; it keeps the forms and prompts it saw."""

    def __init__(
        self, form: dict | None, reply: str = "Fine.", refusal: Literal["decline", "cancel"] = "decline"
    ) -> None:
        self.form, self.reply, self.refusal = form, reply, refusal
        self.forms: list[types.ElicitRequestParams] = []
        self.prompts: list[types.CreateMessageRequestParams] = []

    async def elicit(self, _context, params):
        self.forms.append(params)
        if self.form is None:
            return types.ElicitResult(action=self.refusal)
        return types.ElicitResult(action="accept", content=self.form)

    async def sample(self, _context, params):
        self.prompts.append(params)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=self.reply), model="test-model"
        )
