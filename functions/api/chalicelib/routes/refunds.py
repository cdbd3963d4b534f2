"""Refunds of a payment."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, query_params, route
from chalicelib.routes.orders import idempotent_create
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/payments/{payment_id}/refunds", ["POST", "GET"])
def payment_refunds(payment_id):
    request = bp.current_request
    merchant = current_merchant(request)
    svc = services()
    if request.method == "GET":
        return json_response(
            svc.refunds.list_for_payment(merchant, payment_id, query_params(request))
        )
    body = json_body(request)
    return idempotent_create(
        request, merchant, body, lambda: svc.refunds.create(merchant, payment_id, body)
    )


@route(bp, "/api/v1/refunds/{refund_id}", ["GET"])
def get_refund(refund_id):
    return json_response(services().refunds.get(current_merchant(bp.current_request), refund_id))
