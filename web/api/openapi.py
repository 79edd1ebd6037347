"""The OpenAPI 3.1 document, generated from the endpoint declarations and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from web.api.framework import Api, Endpoint

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
    },
}
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
#: Two models of one name are told apart by their module (``web__api__tracks__TrackOut``); these
#: are the modules the published document named for models that have since moved to their
#: feature's ``*_schemas.py``, so those names (a client's type names) stay as they were.
PUBLISHED_MODULES = {
    "web.api.alert_delivery_schemas.": "web.api.alert_deliveries.",
    "web.api.webhook_delivery_schemas.": "web.api.webhook_deliveries.",
    "web.api.oncall_schemas.": "web.api.oncall.",
    "web.api.tracking_schemas.": "web.api.tracking.",
    "web.api.track_schemas.": "web.api.tracks.",
}


class _ComponentNames(GenerateJsonSchema):
    def normalize_name(self, name: str) -> str:
        for moved, published in PUBLISHED_MODULES.items():
            name = name.replace(moved, published)
        return super().normalize_name(name)


def _path(path: str) -> str:
    return _PARAM.sub(r"{\1}", path)


def build_openapi(api: Api, *, title: str, version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = set()
    for ep in api.endpoints:
        for model in (ep.body, ep.response):
            if model is not None:
                models.add(model)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, defs = models_json_schema(
        [(m, "validation" if _is_input(api, m) else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}", schema_generator=_ComponentNames,
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    refs = {m: keyed[(m, "validation" if _is_input(api, m) else "serialization")] for m in ordered}

    paths: dict[str, dict[str, Any]] = {}
    for ep in api.endpoints:
        paths.setdefault(_path(ep.path), {})[ep.method.lower()] = _operation(ep, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Errors are RFC 9457 problem documents (application/problem+json)."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _is_input(api: Api, model: type[BaseModel]) -> bool:
    return any(ep.body is model for ep in api.endpoints)


def _operation(ep: Endpoint, refs: dict[type[BaseModel], Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": ep.name,
        "summary": ep.summary,
        "tags": [ep.tag],
        "parameters": [],
        "responses": {},
    }
    if ep.description:
        op["description"] = ep.description
    if ep.permissions:
        op["x-permissions"] = [p.value for p in ep.permissions]
    for name in _PARAM.findall(ep.path):
        op["parameters"].append({"name": name, "in": "path", "required": True,
                                 "schema": {"type": "string", "minLength": 1}})
    if ep.query is not None:
        schema = ep.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": _inline(prop, schema)}
            if prop.get("type") == "array" or "array" in str(prop.get("anyOf", "")):
                param["style"] = "form"
                param["explode"] = True
            op["parameters"].append(param)
    if ep.idempotent:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[ep.body]}}}
    elif ep.raw_body:
        op["requestBody"] = {"required": True, "content": {
            t: {"schema": {"type": "string", "format": "binary"}} for t in ep.raw_body}}
    if ep.status in ep.responses:
        pass  # documented by the endpoint itself (below)
    elif ep.status == 204 or (ep.response is None and ep.status in {200, 204}):
        op["responses"]["204" if ep.response is None else str(ep.status)] = {
            "description": "Done"}
    else:
        content = {"application/json": {"schema": refs[ep.response]}} if ep.response else {}
        op["responses"][str(ep.status)] = {"description": "Success", "content": content}
    errors = set(ep.errors)
    if ep.auth:
        errors.add(401)
    if ep.body is not None or ep.query is not None:
        errors.add(422)
    if ep.body is not None or ep.raw_body:
        errors |= {400, 413, 415, 422}
    if ep.idempotent:
        errors |= {400, 409, 422}
    for status in sorted(errors):
        op["responses"][str(status)] = {
            "description": "Problem",
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    for status, answer in ep.responses.items():
        op["responses"][str(status)] = answer
    if ep.auth:
        op["security"] = [{"bearer": []}]
    return op


def _inline(prop: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameter schemas are small; resolve local $refs (enums) inline."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    out: dict[str, Any] = resolve(prop)
    return out
