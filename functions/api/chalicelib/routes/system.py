"""Health, the seeded test merchant and job status."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import json_response, route
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/health", ["GET"], preflight=False)
def health():
    return json_response(services().health.health())


@route(bp, "/api/v1/test/merchant", ["GET"], preflight=False)
def test_merchant():
    m = services().merchants.test_merchant()
    return json_response({"id": m.id, "email": m.email, "api_key": m.api_key, "seeded": True})


@route(bp, "/api/v1/test/jobs/status", ["GET"], preflight=False)
def jobs_status():
    return json_response(services().health.jobs_status())
