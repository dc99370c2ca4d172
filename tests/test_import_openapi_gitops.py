"""GitOps with an OpenAPI document committed in the repository.

An issue form that names the document and the operations becomes a spec with no model call, its `source:`
pointing at the committed file; a pull request that changes only the document is a change to its server: the
review rebuilds it and fails until the spec is re-imported, naming the tools the change adds, alters or removes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import git
import pytest

from factory_bot.build.render import write_server
from factory_bot.errors import RequestError
from factory_bot.forge.local import LocalForge
from factory_bot.gitops.common import Context
from factory_bot.gitops.publish import REVIEW_MARKER
from factory_bot.spec.loader import load_spec_file
from tests.import_openapi_support import oas_example
from tests.test_import_openapi_curation import run
from tests.test_publish_review import commit, pr_event, review


def form(document: str, operations: str = "_No response_", name: str = "petstore") -> str:
    return f"""### Server name

{name}

### What should the server do?

The pet store, from its OpenAPI description.

### OpenAPI document

{document}

### Which operations

{operations}

### Generated code

- [X] I understand that the server's code will be generated (possibly written by Claude) and must be reviewed
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "openapi").mkdir(parents=True)
    shutil.copy(oas_example("3.0/json/petstore.json"), root / "openapi" / "petstore.json")
    return root


def test_an_issue_naming_a_committed_document_imports_the_chosen_operations_with_no_model(checkout, tmp_path):
    body = form("openapi/petstore.json", "getPetById, GET /pet/findBy*\ntags: pet\nmethods: GET")
    result = Context(workdir=tmp_path / "w", checkout=checkout).parse("New MCP server: petstore", body)
    assert result.source == "openapi" and result.attempts == []  # no model was asked
    spec = result.spec
    assert [t.name for t in spec.tools] == ["find_pets_by_status", "get_pet_by_id"]  # findByTags is deprecated
    assert spec.source.openapi == "../openapi/petstore.json"  # from specs/, where the spec will live
    assert (spec.source.include, spec.source.tags, spec.source.methods) == (
        ["getPetById", "GET /pet/findBy*"], ["pet"], ["GET"],
    )  # fmt: skip


@pytest.mark.parametrize("document", ["../outside.json", "/etc/passwd", "openapi/../../outside.json"])
def test_a_document_outside_the_repository_is_refused(checkout, tmp_path, document):
    (tmp_path / "outside.json").write_text((checkout / "openapi" / "petstore.json").read_text())
    with pytest.raises(RequestError, match="not a path inside this repository"):
        Context(workdir=tmp_path / "w", checkout=checkout).parse("t", form(document))


def test_a_symlink_out_of_the_repository_is_refused(checkout, tmp_path):
    (tmp_path / "outside.json").write_text((checkout / "openapi" / "petstore.json").read_text())
    (checkout / "openapi" / "link.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(RequestError, match="not a path inside this repository"):
        Context(workdir=tmp_path / "w", checkout=checkout).parse("t", form("openapi/link.json"))


@pytest.mark.e2e
def test_a_pull_request_changing_only_the_document_fails_review_until_the_spec_is_reimported(checkout, tmp_path):
    where = checkout
    repo = git.Repo.init(where, initial_branch="main")
    done = run(
        "import", "openapi", "openapi/petstore.json", "--name", "petstore", "--include", "getPetById",
        "--include", "findPetsByStatus", "--out", "specs/petstore.yaml", cwd=where,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    write_server(load_spec_file(where / "specs" / "petstore.yaml"), where / "servers" / "petstore")
    base = commit(repo, "petstore 1.0.0 from its document")

    repo.git.checkout("-b", "api-v2")
    document = where / "openapi" / "petstore.json"
    data = json.loads(document.read_text())
    data["paths"]["/pet/findByStatus"]["get"]["parameters"].append(
        {"name": "limit", "in": "query", "required": True, "schema": {"type": "integer"}}
    )
    document.write_text(json.dumps(data, indent=2))
    head = commit(repo, "the API's v2 document")
    result = review(where, pr_event(tmp_path / "pr.json", str(where), 7, head, base))
    assert result.returncode == 1, result.stderr
    body = LocalForge(where).find_comment(7, REVIEW_MARKER).body
    assert "source: openapi/petstore.json changed and specs/petstore.yaml was not re-imported" in body
    assert r"find\_pets\_by\_status, new required input limit" in body and "(2.0.0: major" in body  # md-escaped

    done = run("import", "openapi", "--update", "specs/petstore.yaml", cwd=where)
    assert done.returncode == 0, done.stderr
    write_server(load_spec_file(where / "specs" / "petstore.yaml"), where / "servers" / "petstore")
    head = commit(repo, "re-imported: 2.0.0")
    result = review(where, pr_event(tmp_path / "pr.json", str(where), 7, head, base), "--workdir", str(tmp_path / "w2"))
    assert result.returncode == 0, result.stderr + result.stdout
    body = LocalForge(where).find_comment(7, REVIEW_MARKER).body
    assert ":white_check_mark: passed" in body


def test_a_reading_with_no_importer_says_how_to_import_the_document():
    from factory_bot.parse import parse_issue

    with pytest.raises(RequestError, match="names an OpenAPI document") as caught:
        parse_issue("t", form("openapi/petstore.json"))
    assert "factory-bot import openapi" in caught.value.hint


def test_factory_bot_parse_reads_such_a_form_from_the_current_checkout(checkout, tmp_path):
    (tmp_path / "issue.md").write_text(form("openapi/petstore.json", "getPetById"))
    done = run(
        "parse", "--issue-body", str(tmp_path / "issue.md"), "--out", str(tmp_path / "petstore.yaml"), cwd=checkout
    )
    assert done.returncode == 0, done.stderr
    spec = load_spec_file(tmp_path / "petstore.yaml")
    assert [t.name for t in spec.tools] == ["get_pet_by_id"] and spec.source.include == ["getPetById"]


def test_a_server_requested_again_from_its_document_keeps_the_maintainers_renames_and_texts(checkout, tmp_path):
    from factory_bot.gitops.openapi_source import with_curation
    from factory_bot.spec.loader import dump_spec

    ctx = Context(workdir=tmp_path / "w", checkout=checkout)
    first = ctx.parse("t", form("openapi/petstore.json", "getPetById, findPetsByStatus")).spec
    data = first.model_dump(mode="json", exclude_unset=True)
    data["tools"][1] |= {"name": "pet", "description": "One pet by its id."}  # edited by the maintainer
    (checkout / "specs").mkdir()
    (checkout / "specs" / "petstore.yaml").write_text(dump_spec(type(first).model_validate(data)))
    released = load_spec_file(checkout / "specs" / "petstore.yaml")

    again = ctx.parse("t", form("openapi/petstore.json", "getPetById, findPetsByStatus, getInventory")).spec
    curated = with_curation(again, released, checkout)
    tools = {t.name: t for t in curated.tools}
    assert set(tools) == {"find_pets_by_status", "pet", "get_inventory"}  # the new choice, the old rename
    assert tools["pet"].description == "One pet by its id."
    assert curated.source.overrides["getPetById"].name == "pet"


def _commit_petstore(bare: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = git.Repo.clone_from(str(bare), Path(tmp) / "w", branch="main")
        (Path(tmp) / "w" / "openapi").mkdir()
        shutil.copy(oas_example("3.0/json/petstore.json"), Path(tmp) / "w" / "openapi" / "petstore.json")
        commit(repo, "the Petstore's OpenAPI document")
        repo.git.push("origin", "HEAD:refs/heads/main")


@pytest.mark.e2e
@pytest.mark.github(then=_commit_petstore)
def test_an_issue_naming_the_committed_document_opens_a_pr_whose_server_validates_its_requests(github, tmp_path):
    from factory_bot import gitops as flows
    from factory_bot.build.pipeline import build
    from tests.fakes.git_repos import branch_files
    from tests.github_forge import forge_for

    issue = github.open_issue("New MCP server: petstore", form("openapi/petstore.json", "getPetById, loginUser"))
    ctx = flows.Context(workdir=tmp_path / "run", forge=lambda: forge_for(github, "ghs_openapi0token"), builder=build)
    outcome = flows.on_issue(github.issue_event(issue["number"]), ctx)
    pr = github.pulls[outcome["pull"]]
    assert "| `get_pet_by_id` |" in pr["body"] and "| `login_user` |" in pr["body"] and "failed" not in pr["body"]
    spec_text = branch_files(github.bare, "factory/petstore")["specs/petstore.yaml"]
    assert "openapi: ../openapi/petstore.json" in spec_text and "request:" in spec_text
