"""The API contract is the committed docs/openapi.json: a change to an endpoint, a model or an
answer shows up here, so a refactoring that should change nothing is held to that, and a change
that is meant is made on purpose (``dispatch openapi > docs/openapi.json``) and seen in review."""

from __future__ import annotations

import json
from pathlib import Path

from web.app import openapi_document
from web.cli import main

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_document_served_is_the_committed_one() -> None:
    committed = json.loads(COMMITTED.read_text())
    generated = json.loads(json.dumps(openapi_document()))
    changed = sorted(
        f"{method.upper()} {path}"
        for path in set(committed["paths"]) | set(generated["paths"])
        for method in set(committed["paths"].get(path, {})) | set(generated["paths"].get(path, {}))
        if committed["paths"].get(path, {}).get(method) != generated["paths"].get(path, {}).get(method)
    )
    assert changed == [], f"operations differ from docs/openapi.json: {changed}"
    assert generated == committed, (
        "the OpenAPI document differs from docs/openapi.json (schemas or info): if the change "
        "is meant, run `dispatch openapi > docs/openapi.json`")


def test_the_command_prints_the_document(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["openapi"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["info"]["title"] == "Dispatch Board API"
    assert "/api/work-orders" in printed["paths"]
    assert printed == json.loads(COMMITTED.read_text())
