"""Payments: create (merchant and checkout), read, list, capture, and the merchant's stats."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, query_params, route
from chalicelib.routes.orders import idempotent_create
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/payments", ["POST", "GET"])
def payments():
    request = bp.current_request
    merchant = current_merchant(request)
    svc = services()
    if request.method == "GET":
        return json_response(svc.payments.list(merchant, query_params(request)))
    body = json_body(request)
    return idempotent_create(request, merchant, body, lambda: svc.payments.create(merchant, body))


@route(bp, "/api/v1/payments/public", ["POST"])
def create_payment_public():
    body = json_body(bp.current_request)
    return json_response(services().payments.create(None, body), 201)


@route(bp, "/api/v1/payments/{payment_id}", ["GET"])
def get_payment(payment_id):
    merchant = current_merchant(bp.current_request)
    return json_response(services().payments.get(merchant, payment_id))


@route(bp, "/api/v1/payments/{payment_id}/public", ["GET"])
def get_payment_public(payment_id):
    return json_response(services().payments.get_public(payment_id))


@route(bp, "/api/v1/payments/{payment_id}/capture", ["POST"])
def capture_payment(payment_id):
    request = bp.current_request
    merchant = current_merchant(request)
    body = json_body(request, required=False)
    return json_response(services().payments.capture(merchant, payment_id, body))


@route(bp, "/api/v1/stats", ["GET"])
def stats():
    return json_response(services().payments.stats(current_merchant(bp.current_request)))
