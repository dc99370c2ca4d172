"""The OpenAPI import tests' shared helpers: the mapping rules' document, the published Petstore examples, and
`imported`/`tool` to import a document with filters and pick one tool of the result."""

from __future__ import annotations

from pathlib import Path

from factory_bot.importers.openapi import ImportOptions, import_openapi
from factory_bot.importers.openapi.operations import Filters
from tests.npm_tools import ensure_npm_packages

FIXTURES = Path(__file__).parent / "fixtures" / "openapi"
MAPPING = str(FIXTURES / "mapping.yaml")
OAS_EXAMPLES = "@readme/oas-examples@8.2.2"


def oas_example(path: str) -> str:
    return str(ensure_npm_packages(OAS_EXAMPLES) / "@readme" / "oas-examples" / path)


def imported(source: str = MAPPING, **filters):
    options = {k: filters.pop(k) for k in ("name", "base_url", "max_tools") if k in filters}
    return import_openapi(source, ImportOptions(filters=Filters(**filters), **options))


def tool(result, name: str):
    return next(t for t in result.spec.tools if t.name == name)
