"""Turn storage failures into `paygate.errors`, by error code (never by message text)."""

from __future__ import annotations

from contextlib import contextmanager

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from paygate.errors import Conflict, StorageUnavailable


class ConditionFailed(Conflict):
    """A conditional write's condition did not hold. `reasons` lists per-item codes of a
    transaction (None for items that were fine)."""

    def __init__(self, reasons: list[str | None] | None = None) -> None:
        super().__init__()
        self.reasons = reasons or []


CONDITION_CODES = ("ConditionalCheckFailedException", "ConditionalCheckFailed")


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """Per-item codes of a cancelled transaction (`ConditionalCheckFailed`, `None`, …)."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [reason.code if reason else None for reason in reasons]


@contextmanager
def storage_errors():
    """Map a failed conditional write to ConditionFailed and anything else to StorageUnavailable."""
    try:
        yield
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if any(code in CONDITION_CODES for code in codes) or exc.cause_response_code in CONDITION_CODES:
            raise ConditionFailed(codes) from exc
        raise StorageUnavailable() from exc
    except PynamoDBException as exc:
        if exc.cause_response_code in CONDITION_CODES:
            raise ConditionFailed() from exc
        raise StorageUnavailable() from exc
