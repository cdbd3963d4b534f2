"""Health, the seeded test merchant and job status."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import json_response, route
from paygate.errors import NotFound
from paygate.wiring import services

bp = Blueprint(__name__)


def _test_endpoints_enabled() -> None:
    """The test helpers exist in test and local mode only; elsewhere they answer as an unknown
    path does (API Gateway's MISSING_AUTHENTICATION_TOKEN response)."""
    settings = services().settings
    if not (settings.test_mode or settings.local_mode):
        raise NotFound("No such endpoint or method")


@route(bp, "/health", ["GET"], preflight=False)
def health():
    return json_response(services().health.health())


@route(bp, "/api/v1/test/merchant", ["GET"], preflight=False)
def test_merchant():
    _test_endpoints_enabled()
    m = services().merchants.test_merchant()
    return json_response({"id": m.id, "email": m.email, "api_key": m.api_key, "seeded": True})


@route(bp, "/api/v1/test/jobs/status", ["GET"], preflight=False)
def jobs_status():
    _test_endpoints_enabled()
    return json_response(services().health.jobs_status())
