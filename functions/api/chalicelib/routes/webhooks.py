"""Webhook configuration, delivery logs, manual retry and bulk replay, test deliveries."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, query_params, route
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/webhooks", ["GET"])
def list_webhooks():
    request = bp.current_request
    return json_response(
        services().webhooks.list_logs(current_merchant(request), query_params(request))
    )


@route(bp, "/api/v1/webhooks/{log_id}/retry", ["POST"])
def retry_webhook(log_id):
    return json_response(services().webhooks.retry(current_merchant(bp.current_request), log_id))


@route(bp, "/api/v1/webhooks/test", ["POST"])
def test_webhook():
    request = bp.current_request
    merchant = current_merchant(request)
    body = json_body(request, required=False)
    return json_response(services().webhooks.send_test(merchant, body), 202)


@route(bp, "/api/v1/webhooks/replay", ["POST"])
def replay_webhooks():
    request = bp.current_request
    merchant = current_merchant(request)
    return json_response(services().webhooks.replay(merchant, json_body(request)), 202)


@route(bp, "/api/v1/webhooks/config", ["GET", "PUT"])
def webhook_config():
    request = bp.current_request
    merchant = current_merchant(request)
    if request.method == "GET":
        return json_response(services().webhooks.config(merchant))
    return json_response(services().webhooks.set_url(merchant, json_body(request)))


@route(bp, "/api/v1/webhooks/secret/regenerate", ["POST"])
def regenerate_secret():
    request = bp.current_request
    merchant = current_merchant(request)
    body = json_body(request, required=False)
    return json_response(services().webhooks.regenerate_secret(merchant, body))
