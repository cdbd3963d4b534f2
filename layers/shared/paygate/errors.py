"""Domain errors with the stable codes of CONTRACT §2; HTTP statuses live in the API only."""

from __future__ import annotations


class PaygateError(Exception):
    """Base of every error a merchant may see; `code` is stable, `description` is for humans."""

    code = "INTERNAL_ERROR"
    default_description = "Internal error"

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(self.description)


class BadRequest(PaygateError):
    code = "BAD_REQUEST_ERROR"
    default_description = "Bad request"


class InvalidVpa(PaygateError):
    code = "INVALID_VPA"
    default_description = "Invalid VPA"


class InvalidCard(PaygateError):
    code = "INVALID_CARD"
    default_description = "Invalid card number"


class ExpiredCard(PaygateError):
    code = "EXPIRED_CARD"
    default_description = "Card expired or expiry invalid"


class AuthenticationFailed(PaygateError):
    code = "AUTHENTICATION_ERROR"
    default_description = "Invalid API credentials"


class NotFound(PaygateError):
    code = "NOT_FOUND_ERROR"
    default_description = "Resource not found"


class IdempotencyKeyInUse(PaygateError):
    code = "IDEMPOTENCY_KEY_IN_USE"
    default_description = "A request with this Idempotency-Key is still being processed"


class IdempotencyKeyReused(PaygateError):
    code = "IDEMPOTENCY_KEY_REUSED"
    default_description = (
        "This Idempotency-Key was already used for a different request (method, path or body)"
    )


class RateLimited(PaygateError):
    code = "RATE_LIMITED"
    default_description = "Too many requests"

    def __init__(self, description: str | None = None, retry_after: int = 1) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class Conflict(PaygateError):
    """A conditional write lost: the record changed under us (callers decide what it means)."""

    code = "BAD_REQUEST_ERROR"
    default_description = "The resource changed; retry the request"


class StorageUnavailable(PaygateError):
    """The database or queue could not be reached or throttled us past our retries."""

    code = "INTERNAL_ERROR"
    default_description = "Storage temporarily unavailable"
