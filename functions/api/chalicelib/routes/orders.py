"""Orders."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, route
from paygate.wiring import services

bp = Blueprint(__name__)


def request_path(request) -> str:
    """The path the client called, without the stage: the route with its parameters filled."""
    path = request.context.get("resourcePath", "")
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", value)
    return path


def idempotent_create(request, merchant, body, create) -> object:
    """Run `create` once per Idempotency-Key (when the header is sent) and answer 201. The key
    is bound to this method, path and body."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return json_response(create(), 201)
    text, replayed = services().idempotency.run(
        merchant.id, key, (request.method, request_path(request), body), create, bp.lambda_context
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return json_response(text, 201, headers)


@route(bp, "/api/v1/orders", ["POST"])
def create_order():
    request = bp.current_request
    merchant = current_merchant(request)
    body = json_body(request)
    svc = services()
    return idempotent_create(request, merchant, body, lambda: svc.orders.create(merchant, body))


@route(bp, "/api/v1/orders/{order_id}", ["GET"])
def get_order(order_id):
    merchant = current_merchant(bp.current_request)
    return json_response(services().orders.get(merchant, order_id))


@route(bp, "/api/v1/orders/{order_id}/public", ["GET"])
def get_order_public(order_id):
    return json_response(services().orders.get_public(order_id))
