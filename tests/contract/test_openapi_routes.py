"""`openapi.yaml` is valid OpenAPI 3.1 and describes exactly the Chalice app's operations.

No stack needed: the app's route table and the views' source are read in-process.
"""

from __future__ import annotations

import copy
import inspect
import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from chalicelib.errors import STATUS_BY_CODE
from paygate.domain.events import EVENT_TYPES, LISTED_TYPES
from tests.contract.spec import (
    SPEC_PATH,
    load_spec,
    operations,
    preflight_paths,
    served_operations,
)

CONTRACT_EVENTS = {
    "payment.created",
    "payment.pending",
    "payment.success",
    "payment.failed",
    "order.paid",
    "refund.created",
    "refund.processed",
    "webhook.test",
}
# Recorded for the merchant (events API), never delivered: not webhooks of the document.
NOTICES = {"webhook_endpoint.disabled"}
IDEMPOTENT_OPERATIONS = {
    ("/api/v1/orders", "POST"),
    ("/api/v1/payments", "POST"),
    ("/api/v1/payments/{payment_id}/refunds", "POST"),
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec()


@pytest.fixture(scope="module")
def app():
    from app import app

    return app


def route_operations(app) -> set[tuple[str, str]]:
    return {(path, method) for path, methods in app.routes.items() for method in methods}


def mismatch(app, spec: dict) -> str:
    """'' when the app and the document list the same operations, else what differs."""
    routes, documented = route_operations(app), served_operations(spec)
    lines = [f"route not in openapi.yaml: {m} {p}" for p, m in sorted(routes - documented)]
    lines += [f"openapi.yaml has no such route: {m} {p}" for p, m in sorted(documented - routes)]
    return "\n".join(lines)


def spec_errors(spec: dict) -> list[str]:
    """Why `spec` is not valid OpenAPI 3.1 (empty when it is)."""
    try:
        return [error.message for error in OpenAPIV31SpecValidator(spec).iter_errors()]
    except Exception as exc:  # an unresolvable $ref stops the validator
        return [f"{type(exc).__name__}: {str(exc)[:200]}"]


def operation(spec: dict, path: str, method: str) -> dict:
    return spec["paths"][path][method.lower()]


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# ---------------------------------------------------------------- the document itself


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1.")
    assert spec_errors(spec) == []


def test_validator_rejects_a_broken_document(spec):
    """The validity test can fail: a misspelt key, a Swagger-2 body parameter, an operation
    given as a `$ref` (only path items may be), a dangling reference."""

    def dangle(d):
        d["paths"]["/health"]["get"]["responses"]["200"] = {"$ref": "#/components/responses/No"}

    for breakage in (
        lambda d: d["paths"]["/health"]["get"].update(respnses={}),
        lambda d: d["paths"]["/api/v1/orders"]["post"]["parameters"].append(
            {"name": "body", "in": "body", "schema": {"type": "object"}}
        ),
        lambda d: d["paths"]["/api/v1/orders"].update(
            post={"$ref": "#/paths/~1api~1v1~1merchant/get"}
        ),
        dangle,
    ):
        broken = copy.deepcopy(spec)
        breakage(broken)
        assert spec_errors(broken)


def test_operation_ids_are_unique(spec):
    ids = [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids)) == len(operations(spec))


# ---------------------------------------------------------------- routes == operations


def test_routes_and_document_list_the_same_operations(app, spec):
    assert mismatch(app, spec) == ""


def test_a_missing_or_extra_operation_is_caught(app, spec):
    fewer = copy.deepcopy(spec)
    del fewer["paths"]["/api/v1/webhooks/config"]["put"]
    assert "route not in openapi.yaml: PUT /api/v1/webhooks/config" in mismatch(app, fewer)
    more = copy.deepcopy(spec)
    more["paths"]["/api/v1/orders"]["delete"] = {"responses": {"204": {"description": "x"}}}
    assert "openapi.yaml has no such route: DELETE /api/v1/orders" in mismatch(app, more)
    unmarked = copy.deepcopy(spec)
    del unmarked["paths"]["/api/v1/orders"]["x-cors-preflight"]
    assert "route not in openapi.yaml: OPTIONS /api/v1/orders" in mismatch(app, unmarked)
    marked = copy.deepcopy(spec)
    marked["paths"]["/health"]["x-cors-preflight"] = True
    assert "openapi.yaml has no such route: OPTIONS /health" in mismatch(app, marked)


def test_preflights_are_exactly_the_routes_that_answer_options(app, spec):
    """Preflights are marked on their path item (`x-cors-preflight: true`), never listed as
    OPTIONS operations: generated clients would turn each into a function."""
    with_options = {path for path, methods in app.routes.items() if "OPTIONS" in methods}
    assert with_options == preflight_paths(spec)
    assert not any("options" in item for item in spec["paths"].values())
    for path in preflight_paths(spec):
        assert spec["paths"][path]["x-cors-preflight"] is True, path
    # /health and /api/v1/test/* are registered without a preflight on purpose.
    assert set(app.routes) - with_options == {
        "/health",
        "/api/v1/test/merchant",
        "/api/v1/test/jobs/status",
    }
    preflight = spec["components"]["responses"]["Preflight"]
    assert "Access-Control-Allow-Origin" in preflight["headers"]


def test_path_parameters_match_the_routes(spec):
    for path, item in spec["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        declared = {
            resolve(spec, p)["name"]
            for p in item.get("parameters", [])
            if resolve(spec, p)["in"] == "path"
        }
        assert declared == names, path


# ---------------------------------------------------------------- security


def test_security_matches_the_code(app, spec):
    """An operation needs credentials in the document iff its view authenticates."""
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "in": "header", "name": "X-Api-Key"}
    assert schemes["ApiSecret"] == {**schemes["ApiSecret"], "in": "header", "name": "X-Api-Secret"}
    assert schemes["BearerToken"]["scheme"] == "bearer"
    assert spec["security"] == [{"ApiKey": [], "ApiSecret": []}, {"BearerToken": []}]
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if method == "OPTIONS":
                continue  # preflights take no credentials (checked above)
            op = operation(spec, path, method)
            source = inspect.getsource(inspect.unwrap(entry.view_function))
            authenticates = "current_merchant(" in source
            documented = op.get("security", spec["security"]) != []
            assert documented == authenticates, f"{method} {path}"
            if authenticates:
                assert "401" in op["responses"], f"{method} {path}"


# ---------------------------------------------------------------- errors and statuses


def test_error_codes_are_the_api_table(spec):
    assert spec["components"]["schemas"]["ErrorCode"]["enum"] == list(STATUS_BY_CODE)


def test_every_error_response_is_the_envelope_with_the_codes_of_its_status(spec):
    """Each 4xx/5xx is the one named `Error` schema (so generated clients get one typed error
    model), and lists in `x-error-codes` the codes it can carry: each one that the API's one
    table (chalicelib.errors.STATUS_BY_CODE) maps to that status."""
    for path, method in operations(spec):
        responses = operation(spec, path, method)["responses"]
        assert {"429", "500"} <= set(responses), f"{method} {path}"
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            response = resolve(spec, response)
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            codes = response["x-error-codes"]
            assert codes and all(STATUS_BY_CODE[code] == int(status) for code in codes), (
                f"{method} {path} {status}: {codes}"
            )


def test_error_schemas_are_named_once(spec):
    """No inline object inside the envelope: generators name each inline object after its
    parent, and several parents made several clashing `ErrorError` models."""
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["properties"] == {"error": {"$ref": "#/components/schemas/ErrorDetail"}}
    assert schemas["ErrorDetail"]["properties"]["code"] == {
        "$ref": "#/components/schemas/ErrorCode"
    }
    assert [name for name in schemas if name.endswith("Error")] == ["Error"]


def test_creates_answer_201_and_idempotency_is_documented(spec):
    for path, method in operations(spec):
        op = operation(spec, path, method)
        params = [resolve(spec, p)["name"] for p in op.get("parameters", [])]
        if (path, method) in IDEMPOTENT_OPERATIONS:
            assert "Idempotency-Key" in params
            created = resolve(spec, op["responses"]["201"])
            assert "Idempotent-Replayed" in created["headers"]
            assert {"409", "422"} <= set(op["responses"])
            conflict = resolve(spec, op["responses"]["409"])
            assert "Retry-After" in conflict["headers"]
        else:
            assert "Idempotency-Key" not in params, f"{method} {path}"
    for path in (
        "/api/v1/orders",
        "/api/v1/payments",
        "/api/v1/payments/public",
        "/api/v1/payments/{payment_id}/refunds",
        "/api/v1/auth/signup",
    ):
        assert "201" in operation(spec, path, "POST")["responses"], path
    assert set(operation(spec, "/api/v1/webhooks/test", "POST")["responses"]) >= {"202"}
    assert set(operation(spec, "/health", "GET")["responses"]) == {"200", "429", "500"}


LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}


def list_parameters(spec: dict, path: str) -> dict:
    op = operation(spec, path, "GET")
    return {resolve(spec, p)["name"]: resolve(spec, p) for p in op["parameters"]}


def list_schema(spec: dict, path: str) -> dict:
    op = operation(spec, path, "GET")
    return resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])


def test_lists_are_pagination_envelopes(spec):
    """Offset lists answer `{data, total, limit, offset}`, each a standalone schema with typed
    items (a shared `allOf` base made generators mix up the item types of different lists)."""
    for path in ("/api/v1/payments", "/api/v1/payments/{payment_id}/refunds", "/api/v1/webhooks"):
        params = list_parameters(spec, path)
        assert params["limit"]["schema"] == LIMIT_SCHEMA
        assert params["offset"]["schema"]["minimum"] == 0
        page = list_schema(spec, path)
        assert (
            set(page["required"]) == {"data", "total", "limit", "offset"} == set(page["properties"])
        )
        assert page["properties"]["data"]["items"]["$ref"].startswith("#/components/schemas/")


def test_events_list_is_a_cursor_page(spec):
    """Events page by cursor (`starting_after`), Stripe's way: `{data, has_more, limit}`."""
    params = list_parameters(spec, "/api/v1/events")
    assert set(params) == {"type", "created_gte", "created_lt", "limit", "starting_after"}
    assert params["limit"]["schema"] == LIMIT_SCHEMA
    assert params["type"]["schema"] == {"$ref": "#/components/schemas/EventName"}
    page = list_schema(spec, "/api/v1/events")
    assert set(page["required"]) == {"data", "has_more", "limit"} == set(page["properties"])
    assert page["properties"]["data"]["items"] == {"$ref": "#/components/schemas/Event"}
    event = spec["components"]["schemas"]["Event"]
    envelope = spec["components"]["schemas"]["EventEnvelope"]
    assert set(envelope["required"]) <= set(event["required"])


def test_the_events_api_knows_every_documented_event_name(spec):
    assert set(LISTED_TYPES) == set(spec["components"]["schemas"]["EventName"]["enum"])
    assert set(LISTED_TYPES) - set(EVENT_TYPES) == NOTICES


def test_endpoints_take_exactly_the_delivered_event_names(spec):
    enabled = spec["components"]["schemas"]["EnabledEvents"]["items"]["enum"]
    assert set(enabled) == set(EVENT_TYPES) | {"*"}


# ---------------------------------------------------------------- webhooks


def test_every_webhook_event_is_documented_with_its_signature_headers(spec):
    assert set(spec["webhooks"]) == CONTRACT_EVENTS
    assert set(spec["components"]["schemas"]["EventName"]["enum"]) == CONTRACT_EVENTS | NOTICES
    for name, item in spec["webhooks"].items():
        post = resolve(spec, item)["post"]
        headers = {resolve(spec, p)["name"] for p in post["parameters"]}
        assert headers == {
            "X-Webhook-Signature",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }, name
        body = resolve(spec, post["requestBody"]["content"]["application/json"]["schema"])
        assert body["allOf"] == [{"$ref": "#/components/schemas/EventEnvelope"}], name
        assert body["properties"]["event"] == {"const": name}
    envelope = spec["components"]["schemas"]["EventEnvelope"]
    assert set(envelope["required"]) == {"id", "event", "timestamp", "data"}


def test_spec_file_is_at_the_repository_root():
    assert SPEC_PATH.name == "openapi.yaml" and (SPEC_PATH.parent / "template.yaml").exists()
