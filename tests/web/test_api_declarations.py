"""The API's declarations hold together: every endpoint has its own operation name (clients
generated from the OpenAPI document name their methods by it), a documented summary, and at most
one declaration per method and path; path ids that cannot exist are 404, never a database error."""

from __future__ import annotations

import collections

import pytest

from domain.errors import NotFound
from web.api.framework import Call
from web.app import build_api


def test_every_endpoint_has_its_own_operation_name_and_a_summary() -> None:
    endpoints = build_api().endpoints
    names = collections.Counter(e.name for e in endpoints)
    assert [n for n, count in names.items() if count > 1] == []
    routes = collections.Counter((e.method, e.path) for e in endpoints)
    assert [r for r, count in routes.items() if count > 1] == []
    assert [e.name for e in endpoints if not e.summary.strip()] == []


@pytest.mark.parametrize("value", ["x" * 65, "a\x00b", "bad\nid"])
def test_an_id_that_cannot_exist_is_not_found(value: str) -> None:
    call = Call(request=None, principal=None, body=None, query=None,  # type: ignore[arg-type]
                path={"id": value}, correlation_id="c")
    with pytest.raises(NotFound):
        call.path_id("store")


def test_an_id_that_may_exist_is_passed_on() -> None:
    call = Call(request=None, principal=None, body=None, query=None,  # type: ignore[arg-type]
                path={"id": "store-0001"}, correlation_id="c")
    assert call.path_id("store") == "store-0001"


def test_every_model_lives_in_a_schemas_module() -> None:
    """One rule for where the API's models are: a feature's in ``web/api/<feature>_schemas.py``,
    shared building blocks in ``web/api/schemas.py``, the framework's own beside it; endpoint
    modules declare endpoints only."""
    import importlib
    import inspect
    import pkgutil

    from pydantic import BaseModel

    import web.api

    allowed = ("web.api.schemas", "web.api.framework", "web.api.problems")
    declared = {model for e in build_api().endpoints
                for model in (e.body, e.query, e.response) if model is not None}
    assert [f"{m.__module__}.{m.__name__}" for m in declared
            if not (m.__module__.endswith("_schemas") or m.__module__ in allowed)] == []
    elsewhere = []
    for info in pkgutil.iter_modules(web.api.__path__, "web.api."):
        if info.name.endswith("_schemas") or info.name in allowed:
            continue
        module = importlib.import_module(info.name)
        elsewhere += [f"{info.name}.{name}" for name, value in vars(module).items()
                      if inspect.isclass(value) and issubclass(value, BaseModel)
                      and value.__module__ == info.name]
    assert elsewhere == []
