"""The events API: the merchant's events of the last 30 days, delivered or not."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_response, query_params, route
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/events", ["GET"])
def list_events():
    request = bp.current_request
    return json_response(services().events.list(current_merchant(request), query_params(request)))


@route(bp, "/api/v1/events/{event_id}", ["GET"])
def get_event(event_id):
    return json_response(services().events.get(current_merchant(bp.current_request), event_id))
