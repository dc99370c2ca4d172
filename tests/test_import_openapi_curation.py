"""A maintainer curates an imported spec, the API's document changes, and a re-import keeps the curation.

The story: Petstore is imported into a git repository with its document committed beside the spec; the
maintainer renames a tool, rewrites a description and deletes a tool; a new version of the document drops one
operation, adds one and changes one; `factory-bot import openapi --update` keeps every choice (as overrides in
`source:`), and shows the tools added, changed and removed with the version the change calls for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from factory_bot.errors import OpenAPIError
from factory_bot.gitops.openapi_source import update
from factory_bot.spec.loader import dump_spec, load_spec_file
from tests.import_openapi_support import oas_example


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["factory-bot", *args], cwd=cwd, env=env, capture_output=True, text=True)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding openapi/petstore.json and specs/petstore.yaml imported from it, committed."""
    (tmp_path / "openapi").mkdir()
    shutil.copy(oas_example("3.0/json/petstore.json"), tmp_path / "openapi" / "petstore.json")
    done = run(
        "import", "openapi", "openapi/petstore.json", "--name", "petstore", "--exclude", "upload*",
        "--out", "specs/petstore.yaml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("commit", "-qm", "petstore imported", cwd=tmp_path)
    return tmp_path


def edit_spec(path: Path, change) -> None:
    spec = load_spec_file(path)
    data = spec.model_dump(mode="json", exclude_unset=True)
    change(data)
    path.write_text(dump_spec(type(spec).model_validate(data)), encoding="utf-8")


def curate(data: dict) -> None:
    tools = {t["name"]: t for t in data["tools"]}
    tools["get_pet_by_id"]["name"] = "pet"
    tools["find_pets_by_status"]["description"] = "Pets by status: available, pending or sold."
    data["tools"].remove(tools["delete_user"])


def new_document(path: Path) -> None:
    """Version 2 of the API: deleteOrder gone, getPetPhotos new, loginUser has a new required parameter."""
    doc = json.loads(path.read_text())
    del doc["paths"]["/store/order/{orderId}"]["delete"]
    doc["paths"]["/pet/{petId}/photos"] = {
        "get": {
            "operationId": "getPetPhotos",
            "summary": "Photos of a pet",
            "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}}},
        }
    }  # fmt: skip
    login = doc["paths"]["/user/login"]["get"]
    login["parameters"].append({"name": "otp", "in": "query", "required": True, "schema": {"type": "string"}})
    path.write_text(json.dumps(doc, indent=2))


def test_the_import_records_the_document_relative_to_the_spec_and_the_filters(repo: Path):
    spec = load_spec_file(repo / "specs" / "petstore.yaml")
    assert spec.source is not None
    assert (spec.source.openapi, spec.source.exclude) == ("../openapi/petstore.json", ["upload*"])
    assert "upload_file" not in [t.name for t in spec.tools]


def test_a_changed_document_reimported_keeps_renames_descriptions_and_dropped_tools(repo: Path):
    spec_path = repo / "specs" / "petstore.yaml"
    edit_spec(spec_path, curate)
    git("commit", "-qam", "curated", cwd=repo)
    new_document(repo / "openapi" / "petstore.json")  # replaced in place, as a commit of the new version would

    done = run("import", "openapi", "--update", "specs/petstore.yaml", cwd=repo)
    assert done.returncode == 0, done.stderr
    spec = load_spec_file(spec_path)
    tools = {t.name: t for t in spec.tools}
    assert "pet" in tools and "get_pet_by_id" not in tools  # the rename survives
    assert tools["find_pets_by_status"].description == "Pets by status: available, pending or sold."
    assert "delete_user" not in tools and "deleteUser" in spec.source.exclude  # the drop survives
    assert spec.source.overrides["getPetById"].name == "pet"
    assert "get_pet_photos" in tools and "delete_order" not in tools  # the document's own changes arrive
    assert "otp" in tools["login_user"].input
    # The tool diff and the bump: a tool removed and a new required input are major.
    assert spec.version == "2.0.0"
    for line in (
        "major: tool delete_order removed",
        "major: tool login_user, new required input otp",
        "minor: tool get_pet_photos added",
        "· petstore 1.0.0 → 2.0.0 (major)",
    ):
        assert line in done.stderr, done.stderr
    assert "kept getPetById: your name kept (source.overrides)" in done.stderr

    again = run("import", "openapi", "--update", "specs/petstore.yaml", "--previous", "openapi/petstore.json", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert load_spec_file(spec_path) == spec and "(no change a caller can notice)" in again.stderr  # stable


def test_a_new_document_elsewhere_is_recorded_and_the_old_one_is_the_baseline(repo: Path):
    spec_path = repo / "specs" / "petstore.yaml"
    edit_spec(spec_path, curate)
    shutil.copy(repo / "openapi" / "petstore.json", repo / "openapi" / "petstore-v2.json")
    new_document(repo / "openapi" / "petstore-v2.json")
    result = update(spec_path, str(repo / "openapi" / "petstore-v2.json"))
    assert result.spec.source.openapi == "../openapi/petstore-v2.json"
    assert {"pet", "get_pet_photos"} <= {t.name for t in result.spec.tools}
    assert "delete_user" not in {t.name for t in result.spec.tools}


def test_a_hand_written_tool_beside_the_imported_ones_is_kept(repo: Path):
    spec_path = repo / "specs" / "petstore.yaml"

    def add(data: dict) -> None:
        data["tools"].append(
            {"name": "shout", "description": "Upper-cases.", "input": {"text": {"type": "string"}},
             "implementation": {"kind": "code", "code": "return text.toUpperCase();"}}
        )  # fmt: skip

    edit_spec(spec_path, add)
    result = update(spec_path)
    assert result.spec.tools[-1].name == "shout" and result.proposal.version is None


def test_a_spec_without_source_cannot_be_updated(tmp_path: Path):
    spec = tmp_path / "calc.yaml"
    shutil.copy(Path(__file__).parent.parent / "specs" / "calculator.yaml", spec)
    with pytest.raises(OpenAPIError, match="has no `source:`"):
        update(spec)


def test_filters_beside_update_are_refused_since_the_spec_holds_them(repo: Path):
    done = run("import", "openapi", "--update", "specs/petstore.yaml", "--tags", "pet", cwd=repo)
    assert done.returncode == 2 and "edit them there" in done.stderr
