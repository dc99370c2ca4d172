"""The GitHub-event flows: issue → PR (on-issue), PR review (on-pr), release (on-push).

Each flow runs in stages that hand files to each other through a workdir, so trust stays split:
gate (issues token: who may ask, how often, how much; see gate.py), parse (model key, no generated code), build (no secrets: the only place generated code runs),
publish (write token, never runs generated code: it re-renders from the spec and refuses drift).
With no stage, all of them run in one process (local forge, tests, people trying it out).
"""

from __future__ import annotations

from factory_bot.gitops.common import Builder, Context, Parser
from factory_bot.gitops.issue import issue_build, issue_gate, issue_parse, issue_publish, on_issue
from factory_bot.gitops.release import on_push, push_build, push_publish
from factory_bot.gitops.review import on_pr, pr_build, pr_publish, review_body

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
    "pr_build",
    "pr_publish",
    "push_build",
    "push_publish",
    "review_body",
]
