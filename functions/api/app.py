"""Paygate's API function: wiring only. Handler `app.app`."""

from chalice import Chalice

from chalicelib.errors import from_chalice_error
from chalicelib.http import cors_headers, request_id
from chalicelib.routes import (
    auth,
    events,
    orders,
    payments,
    refunds,
    system,
    webhook_endpoints,
    webhooks,
)
from paygate.settings import get_settings

# Cold start fails loudly on settings only a laptop may use (the API signs dashboard tokens).
get_settings().refuse_unsafe(signs_tokens=True)

app = Chalice(app_name="paygate")
app.api.cors = False
for module in (system, auth, orders, payments, refunds, webhooks, webhook_endpoints, events):
    app.register_blueprint(module.bp)


@app.middleware("http")
def chalice_errors_in_envelope(event, get_response):
    """Chalice answers wrong methods and its own failures before any view runs."""
    response = from_chalice_error(get_response(event), request_id(event))
    response.headers.update(cors_headers(event))
    return response
