"""Webhook endpoints: several per merchant, each with its URL, events, status and secret."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, route
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/webhook_endpoints", ["GET", "POST"])
def webhook_endpoints():
    request = bp.current_request
    merchant = current_merchant(request)
    if request.method == "GET":
        return json_response(services().webhook_endpoints.list(merchant))
    return json_response(services().webhook_endpoints.create(merchant, json_body(request)), 201)


@route(bp, "/api/v1/webhook_endpoints/{endpoint_id}", ["GET", "PATCH", "DELETE"])
def webhook_endpoint(endpoint_id):
    request = bp.current_request
    merchant = current_merchant(request)
    endpoints = services().webhook_endpoints
    if request.method == "GET":
        return json_response(endpoints.get(merchant, endpoint_id))
    if request.method == "DELETE":
        return json_response(endpoints.delete(merchant, endpoint_id))
    return json_response(endpoints.update(merchant, endpoint_id, json_body(request)))


@route(bp, "/api/v1/webhook_endpoints/{endpoint_id}/secret/roll", ["POST"])
def roll_endpoint_secret(endpoint_id):
    request = bp.current_request
    merchant = current_merchant(request)
    body = json_body(request, required=False)
    return json_response(services().webhook_endpoints.roll_secret(merchant, endpoint_id, body))
