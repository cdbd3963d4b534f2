"""Turn storage failures into `paygate.errors`, by error code (never by message text)."""

from __future__ import annotations

import random
import time
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
CONFLICT_CODES = (
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
)
CONFLICT_RETRIES = 8


class TransactionConflict(StorageUnavailable):
    """Another transaction held one of the items: safe to try again."""


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """Per-item codes of a cancelled transaction (`ConditionalCheckFailed`, `None`, …)."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [reason.code if reason else None for reason in reasons]


def retry_conflicts(write):
    """Run `write()`; on a transaction conflict (two writers on one item) retry with jittered
    backoff. A failed condition is an answer, not a conflict, and is raised at once."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            return write()
        except TransactionConflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    return None


@contextmanager
def storage_errors():
    """Map a failed conditional write to ConditionFailed and anything else to StorageUnavailable."""
    try:
        yield
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if (
            any(code in CONDITION_CODES for code in codes)
            or exc.cause_response_code in CONDITION_CODES
        ):
            raise ConditionFailed(codes) from exc
        if (
            any(code in CONFLICT_CODES for code in codes)
            or exc.cause_response_code in CONFLICT_CODES
        ):
            raise TransactionConflict() from exc
        raise StorageUnavailable() from exc
    except PynamoDBException as exc:
        if exc.cause_response_code in CONDITION_CODES:
            raise ConditionFailed() from exc
        raise StorageUnavailable() from exc
