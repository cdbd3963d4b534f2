"""Webhook endpoints as merchants configure them (CONTRACT §13): the fields, their rules, and
which endpoint wants which event.

A merchant has at most MAX_ENDPOINTS endpoints. The legacy `webhooks/config` URL and secret are
its *default* endpoint, stored on the merchant record; its id is derived from the merchant id
(`default_endpoint_id`), so logs and the API name it like any other endpoint.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from dataclasses import dataclass, field

from paygate.domain.events import EVENT_TYPES
from paygate.errors import BadRequest
from paygate.signing import DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS, SigningSecrets

MAX_ENDPOINTS = 16
MAX_DESCRIPTION_LENGTH = 500
ALL_EVENTS = "*"
STATUSES = ("enabled", "disabled")
# Why an endpoint is disabled: the merchant did it, or every delivery failed for too long.
DISABLED_BY_MERCHANT = "manual"
DISABLED_FAILING = "failing"
_ALPHABET = string.ascii_letters + string.digits
_FIELDS = ("url", "enabled_events", "description", "status")
_CREATE_FIELDS = ("url", "enabled_events", "description")
ROLL_FIELDS = ("expire_previous_in",)
# What a JSON value is, in JSON's words (for error messages).
_JSON_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}
_JSON_KINDS.update({str: "a string", list: "an array", dict: "an object"})


@dataclass(frozen=True)
class Endpoint:
    """One place a merchant's webhooks go, whichever record stores it."""

    id: str
    merchant_id: str
    url: str
    enabled_events: tuple[str, ...] = (ALL_EVENTS,)
    description: str | None = None
    status: str = "enabled"
    secrets: SigningSecrets = field(default_factory=lambda: SigningSecrets(""))
    rotations: int = 0
    created_at: str | None = None
    updated_at: str | None = None
    failing_since: float | None = None  # unix seconds of the first failure since a success
    missed_since: str | None = None  # created_at of the oldest delivery missed since then
    disabled_at: str | None = None
    disabled_reason: str | None = None
    is_default: bool = False

    @property
    def enabled(self) -> bool:
        return self.status == "enabled"

    def wants(self, event_name: str) -> bool:
        """Whether this endpoint subscribes to `event_name` (enabled or not)."""
        return subscribes(self.enabled_events, event_name)


def default_endpoint_id(merchant_id: str) -> str:
    """The default endpoint's id: `we_default` and 9 characters derived from the merchant id
    (stable, unlike any random id, and different for every merchant)."""
    digest = int.from_bytes(hashlib.sha256(f"default-endpoint:{merchant_id}".encode()).digest())
    tail = ""
    for _ in range(9):
        digest, index = divmod(digest, len(_ALPHABET))
        tail += _ALPHABET[index]
    return "we_default" + tail


def subscribes(enabled_events, event_name: str) -> bool:
    """Whether a list of `enabled_events` takes `event_name`."""
    events = tuple(enabled_events or ())
    return ALL_EVENTS in events or event_name in events


def parse_enabled_events(value: object) -> tuple[str, ...]:
    """`["*"]` or a non-empty list of event names, each once, in the order of EVENT_TYPES."""
    problem = (
        f'enabled_events must be ["*"] or a non-empty list of event names '
        f"({', '.join(EVENT_TYPES)})"
    )
    if not isinstance(value, list) or not value or len(value) > len(EVENT_TYPES) + 1:
        raise BadRequest(problem)
    for name in value:
        if not isinstance(name, str):
            shown = "true" if name is True else "false" if name is False else json_kind(name)
            raise BadRequest(
                f"enabled_events holds {shown} where an event name was expected; {problem}"
            )
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise BadRequest(f"Unknown event {name[:64]!r} in enabled_events; {problem}")
    if ALL_EVENTS in value:
        if len(value) > 1:
            raise BadRequest('enabled_events: "*" already takes every event; send it alone')
        return (ALL_EVENTS,)
    return tuple(name for name in EVENT_TYPES if name in value)


def json_kind(value: object) -> str:
    """What a parsed JSON value is, as JSON names it ("null", "a number", "an object"...)."""
    return _JSON_KINDS.get(type(value), "a value")


def refuse_unknown_fields(body: dict, allowed: tuple[str, ...]) -> None:
    """BAD_REQUEST_ERROR naming the first field of `body` that is not in `allowed` (as Stripe
    does: a misspelt or misplaced field is a mistake to report, not to ignore)."""
    for name in body:
        if name not in allowed:
            raise BadRequest(f"Unknown field {name[:64]!r} (allowed: {', '.join(allowed)})")


def parse_description(value: object) -> str | None:
    """One line of text shown in the dashboard: at most MAX_DESCRIPTION_LENGTH characters, no
    control characters (NUL, escape sequences, line breaks)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_LENGTH:
        raise BadRequest(
            f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} characters"
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise BadRequest(
            "description must be one line of text, without control characters (NUL, escape, "
            "line breaks, tabs)"
        )
    return value


def parse_status(value: object) -> str:
    if value not in STATUSES:
        raise BadRequest("status must be enabled or disabled")
    return value


def _url(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("url is required: the http or https URL to send events to")
    return value


def parse_create(body: object) -> dict:
    """`{url, enabled_events, description?}` of a new endpoint (the URL policy is checked by
    the service); any other field is refused."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    refuse_unknown_fields(body, _CREATE_FIELDS)
    if "enabled_events" not in body:
        raise BadRequest('enabled_events is required: ["*"] or a list of event names')
    return {
        "url": _url(body.get("url")),
        "enabled_events": parse_enabled_events(body["enabled_events"]),
        "description": parse_description(body.get("description")),
    }


def parse_update(body: object) -> dict:
    """The fields a PATCH changes (at least one of url, enabled_events, description, status)."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    refuse_unknown_fields(body, _FIELDS)
    if not any(name in body for name in _FIELDS):
        raise BadRequest(f"Nothing to update: send any of {', '.join(_FIELDS)}")
    changes: dict = {}
    if "url" in body:
        changes["url"] = _url(body["url"])
    if "enabled_events" in body:
        changes["enabled_events"] = parse_enabled_events(body["enabled_events"])
    if "description" in body:
        changes["description"] = parse_description(body["description"])
    if "status" in body:
        changes["status"] = parse_status(body["status"])
    return changes


def union_of_events(endpoints) -> tuple[str, ...]:
    """Every event name some endpoint takes (`("*",)` when one takes all): what the merchant
    record keeps so that raising an event can tell, from the cached merchant, whether any
    endpoint wants it."""
    names: set[str] = set()
    for endpoint in endpoints:
        names.update(endpoint.enabled_events)
    if ALL_EVENTS in names:
        return (ALL_EVENTS,)
    return tuple(name for name in EVENT_TYPES if name in names)


def overlap_seconds(body: object) -> int:
    """`expire_previous_in` of a secret roll (or the legacy regenerate): whole seconds, 0 to
    7 days, default 24 h."""
    if body is None:
        return DEFAULT_OVERLAP_SECONDS
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    value = body.get("expire_previous_in", DEFAULT_OVERLAP_SECONDS)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_OVERLAP_SECONDS
    ):
        raise BadRequest(
            f"expire_previous_in must be a whole number of seconds from 0 to {MAX_OVERLAP_SECONDS}"
        )
    return value
