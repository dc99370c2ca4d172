"""The policy file and the limits that need no API: a typo is an error on its line, a limit can only be lowered,
and an oversized request is refused with the limit's name and what to do (before any model call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_bot import gitops as flows
from factory_bot.errors import ConfigError, PolicyError
from factory_bot.gitops.gate import check_size, check_spec
from factory_bot.gitops.policy import POLICY_PATH, Policy, load_policy, load_policy_text
from factory_bot.spec.loader import dump_spec, load_spec_file

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


def test_without_a_policy_file_the_defaults_hold(tmp_path: Path):
    policy = load_policy(tmp_path)
    assert policy == Policy()
    assert (policy.requesters.permission, policy.rate_limit.requests, policy.rate_limit.hours) == ("write", 5, 24)


def test_the_repositorys_own_policy_file_is_valid_and_states_the_defaults():
    assert load_policy(ROOT) == Policy()


def test_a_typo_in_a_field_name_is_an_error_on_its_line_with_a_suggestion():
    text = "requesters:\n  permission: write\nrate_limit:\n  request: 3\n"
    with pytest.raises(ConfigError) as caught:
        load_policy_text(text)
    message = str(caught.value)
    assert f"{POLICY_PATH}:4: rate_limit.request: unknown field 'request' (did you mean 'requests'?)" in message
    assert "allowed here: requests, hours, exempt" in message


def test_wrong_values_name_file_line_and_field():
    text = "requesters:\n  permission: owner\n  allow: ['good-login', 'bad login']\nlimits:\n  tools: 0\n"
    with pytest.raises(ConfigError) as caught:
        load_policy_text(text)
    message = str(caught.value)
    assert "invalid policy file (3 problems)" in message
    assert f"{POLICY_PATH}:2: requesters.permission:" in message and "'read', 'write' or 'admin'" in message
    assert f"{POLICY_PATH}:3: requesters.allow: not a GitHub login: 'bad login'" in message
    assert f"{POLICY_PATH}:5: limits.tools:" in message


def test_limits_can_be_lowered_but_never_raised_above_the_bots_own():
    assert load_policy_text("limits: {tools: 3, request_chars: 500}").limits.tools == 3
    with pytest.raises(ConfigError, match=r"limits\.tools: Input should be less than or equal to 50"):
        load_policy_text("limits: {tools: 51}")
    with pytest.raises(ConfigError, match=r"limits\.request_chars: Input should be less than or equal to 20000"):
        load_policy_text("limits:\n  request_chars: 1000000\n")


def test_malformed_yaml_and_duplicate_keys_are_errors_with_a_line():
    with pytest.raises(ConfigError, match=rf"{POLICY_PATH}:3: malformed YAML: expected ',' or ']'"):
        load_policy_text("requesters:\n  allow: [a, b\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_policy_text("rate_limit:\n  requests: 2\n  requests: 3\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_policy_text("- a list\n")


def test_the_approval_label_cannot_be_one_the_bot_moves_itself():
    with pytest.raises(ConfigError, match="one of the bot's own labels"):
        load_policy_text("requesters: {approval_label: 'mcp-factory: approved'}")


def test_an_oversized_plain_language_request_is_refused_with_the_limit_and_what_to_do():
    policy = load_policy_text("limits: {request_chars: 200}")
    refused = check_size(policy, "A server", "Please add numbers. " * 20)
    assert refused is not None and not refused.allowed
    assert refused.rule == "limits.request_chars"
    assert (
        "characters and this repository's" in refused.message
        and "limit (limits.request_chars) is 200" in refused.message
    )
    assert "paste a spec YAML block" in refused.hint
    assert check_size(policy, "A server", "Please add two numbers.") is None


def test_a_spec_block_is_measured_against_the_spec_size_limit_not_the_text_limit():
    spec = (SPECS / "calculator.yaml").read_text()
    body = f"```yaml\n{spec}```\n"
    assert check_size(load_policy_text("limits: {request_chars: 100}"), "Calc", body) is None
    refused = check_size(load_policy_text("limits: {spec_bytes: 1024}"), "Calc", body)
    assert refused is not None and refused.rule == "limits.spec_bytes" and "split the server" in refused.hint


def test_a_spec_with_more_tools_than_the_policy_allows_is_refused():
    spec = load_spec_file(SPECS / "calculator.yaml")
    check_spec(Policy(), spec)
    with pytest.raises(PolicyError) as caught:
        check_spec(load_policy_text("limits: {tools: 1}"), spec)
    assert f"{len(spec.tools)} tools" in caught.value.message and "(limits.tools) is 1" in caught.value.message
    assert "split it into several servers" in (caught.value.hint or "")
    with pytest.raises(PolicyError, match=r"limits\.spec_bytes"):
        check_spec(load_policy_text("limits: {spec_bytes: 1024}"), spec)


def test_the_parse_stage_refuses_what_the_policy_forbids_before_the_parser_runs(tmp_path: Path):
    checkout = tmp_path / "checkout"
    (checkout / ".github").mkdir(parents=True)
    (checkout / ".github" / "mcp-factory.yml").write_text("limits: {request_chars: 100, tools: 1}\n")
    calls = []

    def parser(title: str, body: str):
        calls.append(body)
        raise AssertionError("the parser (and so the model) must not be called")

    ctx = flows.Context(workdir=tmp_path / "w", checkout=checkout, parser=parser)
    event = {"issue": {"number": 7, "title": "Big", "body": "Please do many things. " * 20, "user": {"login": "alice"}}}
    with pytest.raises(PolicyError, match=r"limits\.request_chars"):
        flows.on_issue(event, ctx, stage="parse")
    assert calls == []
    outcome = (ctx.workdir / "outcome.json").read_text()
    assert "limits.request_chars" in outcome and "paste a spec YAML block" in outcome

    # A spec block within the size limits but with too many tools: refused after the (model-free) parse.
    spec = (SPECS / "calculator.yaml").read_text()
    ctx = flows.Context(workdir=tmp_path / "w2", checkout=checkout)
    event["issue"]["body"] = f"```yaml\n{spec}```\n"
    with pytest.raises(PolicyError, match=r"limits\.tools"):
        flows.on_issue(event, ctx, stage="parse")
    assert not (ctx.workdir / "spec.yaml").exists()


def test_dump_of_a_parsed_spec_fits_the_default_size_limit():
    # The default limit is the loader's own: anything that loads also passes check_spec's size test.
    spec = load_spec_file(SPECS / "weather.yaml")
    assert len(dump_spec(spec).encode()) < Policy().limits.spec_bytes


def test_the_gate_stage_exists_only_for_requests(tmp_path: Path):
    from click.testing import CliRunner

    from factory_bot.cli.app import cli

    (tmp_path / "push.json").write_text('{"ref": "refs/heads/main"}')
    result = CliRunner().invoke(
        cli, ["on-push", "--stage", "gate", "--workdir", str(tmp_path / "w"), "--event", str(tmp_path / "push.json")]
    )
    assert isinstance(result.exception, ConfigError) and "--stage gate belongs to on-issue" in str(result.exception)
