"""The one table from error codes to HTTP statuses, and the envelope every failure uses."""

from __future__ import annotations

from chalice import Response

from paygate.errors import PaygateError
from paygate.jsonutil import dumps

STATUS_BY_CODE = {
    "BAD_REQUEST_ERROR": 400,
    "INVALID_VPA": 400,
    "INVALID_CARD": 400,
    "EXPIRED_CARD": 400,
    "AUTHENTICATION_ERROR": 401,
    "NOT_FOUND_ERROR": 404,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
}
RETRY_AFTER_SECONDS = "1"


def envelope(
    code: str,
    description: str,
    request_id: str | None = None,
    status: int | None = None,
    headers: dict | None = None,
) -> Response:
    """`{"error": {"code", "description", "request_id"}}` with the code's status."""
    error = {"code": code, "description": description}
    if request_id:
        error["request_id"] = request_id
    return Response(
        body=dumps({"error": error}),
        status_code=status or STATUS_BY_CODE[code],
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(exc: PaygateError, request_id: str | None) -> Response:
    headers = None
    if exc.code == "IDEMPOTENCY_KEY_IN_USE":
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    elif exc.code == "RATE_LIMITED":
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
    return envelope(exc.code, exc.description, request_id, headers=headers)


def from_chalice_error(response: Response, request_id: str | None) -> Response:
    """Chalice's own errors (`{"Code", "Message"}`: wrong method, 500s) in our envelope."""
    body = response.body
    if not (isinstance(body, dict) and "Code" in body and "Message" in body):
        return response
    status = response.status_code
    if status == 405:
        return envelope(
            "BAD_REQUEST_ERROR",
            str(body["Message"]),
            request_id,
            status=405,
            headers={"Allow": response.headers.get("Allow", "")},
        )
    if status >= 500:
        return envelope("INTERNAL_ERROR", "Internal error", request_id)
    return envelope("BAD_REQUEST_ERROR", str(body["Message"]), request_id, status=status)
