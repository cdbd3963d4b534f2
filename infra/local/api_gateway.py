"""What API Gateway does in front of the API function, from the template: its routes (one per
`Api` event of the function: path and method, `ANY` included), its REST proxy event (payload
1.0) and its gateway responses (the answers it gives itself: unknown routes, bodies too large,
a failing function). Used by the local server (infra.local.api_server); pure functions.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload quota
# API Gateway's defaults for the response types the template does not customise.
DEFAULT_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "BAD_REQUEST_BODY": 400,
    "INTEGRATION_FAILURE": 504,
    "THROTTLED": 429,
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'


@dataclass(frozen=True)
class Route:
    resource: str  # the template path, e.g. /api/v1/orders/{order_id}
    pattern: re.Pattern
    methods: frozenset[str]  # upper case; ANY matches every method without its own route


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: bytes
    headers: dict[str, str]


def load(path: Path = TEMPLATE, function: str = "ApiFunction", api: str = "PaygateApi") -> tuple:
    """(routes, gateway responses, stage name) of the API function in the template."""
    template = yaml_parse(path.read_text())
    resources = template["Resources"]
    methods: dict[str, set[str]] = {}
    for event in resources[function]["Properties"].get("Events", {}).values():
        if event["Type"] == "Api":
            props = event["Properties"]
            methods.setdefault(props["Path"], set()).add(props["Method"].upper())
    routes = [
        Route(resource, _compile(resource), frozenset(found))
        for resource, found in sorted(methods.items(), key=lambda kv: _specificity(kv[0]))
    ]
    api_props = resources.get(api, {}).get("Properties", {})
    stage = template.get("Parameters", {}).get("StageName", {}).get("Default", "api")
    return routes, api_props.get("GatewayResponses", {}), stage


def _compile(resource: str) -> re.Pattern:
    parts = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def _specificity(resource: str) -> tuple:
    """Literal segments win over parameters, as API Gateway matches resources."""
    return tuple((seg.startswith("{"), seg) for seg in resource.strip("/").split("/"))


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `method` on `path` and its path parameters (decoded), or None."""
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    for route in routes:
        found = route.pattern.match(path)
        if found:
            if method in route.methods or "ANY" in route.methods:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            return None  # the resource exists without this method: API Gateway's 403
    return None


def proxy_event(
    route: Route,
    params: dict[str, str],
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    stage: str,
    source_ip: str,
) -> dict:
    """The REST API proxy event (payload format 1.0) API Gateway sends the function."""
    parts = urlsplit(target)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    query = parse_qsl(parts.query, keep_blank_values=True)
    single_query = dict(query) or None
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": unquote(parts.path),
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.resource,
            "httpMethod": method,
            "path": f"/{stage}{parts.path}",
            "stage": stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip},
        },
        # API Gateway hands a non-binary body over as text (no binary media types here).
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


def response_body(result: dict) -> bytes:
    """The body of a proxy integration response."""
    body = result.get("body")
    if body is None:
        return b""
    if result.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def response_headers(result: dict) -> list[tuple[str, str]]:
    """Headers of a proxy integration response (multi-value ones win, as on API Gateway)."""
    pairs = {k: [str(v)] for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        pairs[name] = [str(v) for v in values]
    return [(name, value) for name, values in pairs.items() for value in values]


def gateway_response(
    responses: dict, kind: str, message: str, request_id: str | None = None
) -> GatewayResponse:
    """API Gateway's own answer of type `kind` as the template customises it (the type itself,
    else DEFAULT_4XX / DEFAULT_5XX by its default status, else API Gateway's default), with
    the `$context` values API Gateway fills in."""
    status = DEFAULT_STATUS.get(kind, 400)
    fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    custom = responses.get(kind) or {}
    family = responses.get(fallback) or {}
    status = int(custom.get("StatusCode") or status)
    templates = custom.get("ResponseTemplates") or family.get("ResponseTemplates") or {}
    template = templates.get("application/json", DEFAULT_TEMPLATE)
    rendered = (
        template.replace("$context.error.messageString", json.dumps(message))
        .replace("$context.error.message", message)
        .replace("$context.requestId", request_id or str(uuid.uuid4()))
    )
    return GatewayResponse(status, rendered.encode(), {"Content-Type": "application/json"})
