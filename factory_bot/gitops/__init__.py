"""The GitHub-event flows: issue → PR (on-issue), PR review (on-pr), release (on-push), and a PR that
re-imports the specs a changed OpenAPI document feeds (on-reimport).

Each flow runs in stages that hand files to each other through a workdir, so trust stays split:
gate (issues token: who may ask, how often, how much; see gate.py), parse (model key, no generated code), build (no secrets: the only place generated code runs),
publish (write token, never runs generated code: it re-renders from the spec and refuses drift).
With no stage, all of them run in one process (local forge, tests, people trying it out).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from factory_bot.gitops.common import Builder, Context, Parser
    from factory_bot.gitops.issue import issue_build, issue_gate, issue_parse, issue_publish, on_issue
    from factory_bot.gitops.reimport import on_reimport, reimport_build, reimport_publish
    from factory_bot.gitops.release import on_push, push_build, push_publish
    from factory_bot.gitops.review import on_pr, pr_build, pr_publish, review_body

# Imported on first use: a `factory-bot` process that runs no flow (build, validate, --help) never loads them.
_HOMES = {
    "common": ("Builder", "Context", "Parser"),
    "issue": ("issue_build", "issue_gate", "issue_parse", "issue_publish", "on_issue"),
    "reimport": ("on_reimport", "reimport_build", "reimport_publish"),
    "release": ("on_push", "push_build", "push_publish"),
    "review": ("on_pr", "pr_build", "pr_publish", "review_body"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Builder",
    "Context",
    "Parser",
    "issue_build",
    "issue_gate",
    "issue_parse",
    "issue_publish",
    "on_issue",
    "on_pr",
    "on_push",
    "on_reimport",
    "pr_build",
    "pr_publish",
    "push_build",
    "push_publish",
    "reimport_build",
    "reimport_publish",
    "review_body",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME_OF[name]}"), name)
    globals()[name] = value
    return value
