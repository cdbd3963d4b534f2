"""Route wiring shared by every view: error mapping, CORS, body parsing, authentication."""

from __future__ import annotations

import functools
import json
import math

from aws_lambda_powertools import Logger
from chalice import Blueprint, Response

from chalicelib.errors import envelope, error_response
from paygate.errors import AuthenticationFailed, BadRequest, PaygateError
from paygate.jsonutil import dumps
from paygate.wiring import services

logger = Logger(service="paygate-api")
MAX_JSON_DEPTH = 32
# U+FFFD: what API Gateway puts in place of bytes that are not UTF-8.
REPLACEMENT = "\ufffd".encode()
_CORS_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
_CORS_HEADERS = "Content-Type,Authorization,X-Api-Key,X-Api-Secret,Idempotency-Key"


def request_id(request) -> str | None:
    return (request.context or {}).get("requestId") if request is not None else None


def cors_headers(request) -> dict:
    """Allow-Origin for an allowed origin only (the dashboard's and the checkout's)."""
    origin = request.headers.get("origin") if request is not None else None
    if not origin or origin not in services().settings.cors_allowed_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": _CORS_METHODS,
        "Access-Control-Allow-Headers": _CORS_HEADERS,
        "Access-Control-Expose-Headers": "Idempotent-Replayed,Retry-After",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def json_response(body: dict | str, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response; a `str` body is sent byte for byte (idempotent replays)."""
    text = body if isinstance(body, str) else dumps(body)
    return Response(
        body=text,
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _depth(value, limit: int) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 would come back out as `Infinity`, which is not JSON
        raise ValueError("number out of range")
    return value


def json_body(request, required: bool = True):
    """The parsed JSON body; BAD_REQUEST_ERROR when malformed, too large or too deep."""
    raw = request.raw_body or b""
    if len(raw) > services().settings.max_body_bytes:
        raise BadRequest(f"Request body too large (max {services().settings.max_body_bytes} bytes)")
    if not raw.strip():
        if required:
            raise BadRequest("Request body must be a JSON object")
        return None
    if REPLACEMENT in raw:
        # API Gateway hands the function a text body: bytes that are not UTF-8 arrive as U+FFFD.
        raise BadRequest("Malformed JSON in request body (not UTF-8)")
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("Malformed JSON in request body") from exc
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BadRequest("JSON nested too deeply")
    try:  # a lone surrogate (`"\ud800"`) parses, but can be neither stored nor sent back
        dumps(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("Malformed JSON in request body (invalid Unicode)") from exc
    return value


def query_params(request) -> dict[str, str]:
    """The query string as one value per name; BAD_REQUEST_ERROR for a name given twice (no
    parameter of the API is a list, and API Gateway would hand over only one of them)."""
    params = request.query_params or {}
    for name in params:
        if len(params.getlist(name)) > 1:
            raise BadRequest(f"Query parameter {name[:64]!r} is given more than once")
    return {name: params[name] for name in params}


def client_address(request) -> str | None:
    """The caller's address as API Gateway saw the connection (`identity.sourceIp`); never a
    header such as X-Forwarded-For, which the caller writes."""
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp") or None


def bearer_token(request) -> str | None:
    """The dashboard token of `Authorization: Bearer …`, when that is how the call signs in."""
    headers = request.headers
    if headers.get("x-api-key") or headers.get("x-api-secret"):
        return None
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def current_merchant(request, allow_rolled: bool = True):
    """The merchant of `X-Api-Key`/`X-Api-Secret` or of a dashboard bearer token. With
    `allow_rolled=False` (credential management), a secret rolled with an overlap is refused."""
    headers = request.headers
    auth = headers.get("authorization", "")
    if headers.get("x-api-key") or headers.get("x-api-secret") or not auth:
        return services().merchants.authenticate_api(
            headers.get("x-api-key"), headers.get("x-api-secret"), allow_rolled
        )
    token = bearer_token(request)
    if token is None:
        raise AuthenticationFailed()
    return services().merchants.authenticate_token(token)


def route(bp: Blueprint, path: str, methods: list[str], preflight: bool = True):
    """Register a view that maps every error to the envelope and adds CORS; with `preflight`
    the path also answers OPTIONS (the template then needs an OPTIONS event too)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            request = bp.current_request
            if request.method == "OPTIONS":
                return Response(body="", status_code=204, headers=cors_headers(request))
            try:
                response = view(**kwargs)
            except PaygateError as exc:
                if exc.code == "INTERNAL_ERROR":
                    logger.exception("storage failure", extra={"request_id": request_id(request)})
                response = error_response(exc, request_id(request))
            except Exception:
                logger.exception("unhandled error", extra={"request_id": request_id(request)})
                response = envelope("INTERNAL_ERROR", "Internal error", request_id(request))
            response.headers.update(cors_headers(request))
            return response

        wrapped.paygate_route = True
        all_methods = methods + (["OPTIONS"] if preflight else [])
        bp.route(path, methods=all_methods, content_types=["*/*"])(wrapped)
        return wrapped

    return decorate
