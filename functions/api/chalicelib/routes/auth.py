"""Dashboard sign-up and login, and the signed-in merchant's profile."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import current_merchant, json_body, json_response, route
from paygate.services.views import merchant_summary, merchant_view
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/auth/signup", ["POST"])
def signup():
    merchant = services().merchants.signup(json_body(bp.current_request))
    return json_response(
        {
            "merchant": merchant_summary(merchant),
            "api_key": merchant.api_key,
            "api_secret": merchant.api_secret,
            "webhook_secret": merchant.webhook_secret,
        },
        201,
    )


@route(bp, "/api/v1/auth/login", ["POST"])
def login():
    token, merchant = services().merchants.login(json_body(bp.current_request))
    return json_response({"token": token, "merchant": merchant_summary(merchant)})


@route(bp, "/api/v1/merchant", ["GET"])
def merchant():
    return json_response(merchant_view(current_merchant(bp.current_request)))
