"""The OpenAPI document (`openapi.yaml`) and JSON Schema validation against its components."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:paygate:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@lru_cache(maxsize=1)
def load_spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def operations(spec: dict) -> set[tuple[str, str]]:
    """Every (path, METHOD) the document describes under `paths`."""
    return {
        (path, method.upper())
        for path, item in spec.get("paths", {}).items()
        for method in item
        if method in HTTP_METHODS
    }


def preflight_paths(spec: dict) -> set[str]:
    """Paths that answer a CORS preflight: marked `x-cors-preflight: true` instead of listing
    an OPTIONS operation (generated clients would turn those into functions)."""
    return {path for path, item in spec.get("paths", {}).items() if item.get("x-cors-preflight")}


def served_operations(spec: dict) -> set[tuple[str, str]]:
    """What the API answers: the operations plus the OPTIONS of every preflight path."""
    return operations(spec) | {(path, "OPTIONS") for path in preflight_paths(spec)}


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for `#/components/schemas/<schema_name>` (OpenAPI 3.1
    schemas are 2020-12; `discriminator` is an annotation the validator ignores)."""
    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    )
    ref = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(ref, registry=registry)


def schema_errors(schema_name: str, instance: object) -> list[str]:
    """Why `instance` does not match the named component schema (empty when it does)."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator(schema_name).iter_errors(instance)
    ]
