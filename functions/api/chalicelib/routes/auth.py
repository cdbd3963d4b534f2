"""Dashboard sign-up and login, the signed-in merchant's profile, and the credentials a merchant
rotates or revokes: the API secret, the password and every dashboard session."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import (
    bearer_token,
    client_address,
    current_merchant,
    json_body,
    json_response,
    route,
)
from paygate.services.views import merchant_summary, merchant_view
from paygate.wiring import services

bp = Blueprint(__name__)


@route(bp, "/api/v1/auth/signup", ["POST"])
def signup():
    request = bp.current_request
    merchant = services().merchants.signup(json_body(request), client_address(request))
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
    request = bp.current_request
    token, merchant = services().merchants.login(json_body(request), client_address(request))
    return json_response({"token": token, "merchant": merchant_summary(merchant)})


@route(bp, "/api/v1/auth/password", ["POST"])
def change_password():
    request = bp.current_request
    merchant = current_merchant(request, allow_rolled=False)
    token, merchant = services().merchants.change_password(
        merchant, json_body(request), client_address(request)
    )
    return json_response({"token": token, "merchant": merchant_summary(merchant)})


@route(bp, "/api/v1/auth/logout-all", ["POST"])
def logout_all():
    services().merchants.logout_everywhere(current_merchant(bp.current_request, allow_rolled=False))
    return json_response({"message": "Every dashboard session has been signed out"})


@route(bp, "/api/v1/merchant", ["GET"])
def merchant():
    return json_response(merchant_view(current_merchant(bp.current_request, allow_rolled=False)))


@route(bp, "/api/v1/merchant/api-secret/roll", ["POST"])
def roll_api_secret():
    request = bp.current_request
    merchants = services().merchants
    view, merchant = merchants.roll_api_secret(
        current_merchant(request, allow_rolled=False), json_body(request, required=False)
    )
    if bearer_token(request) is not None:
        # The roll revoked the caller's dashboard token too: hand it the next one.
        view["token"] = merchants.issue_token(merchant)
    return json_response(view)
