"""Queue messages whose record is missing.

Jobs are queued *before* the write they announce, so a crash between the two can never strand
a record; the price is that a message may overtake its record's commit, or announce a record
whose write failed. Until ORPHAN_AFTER_SECONDS the message is retried; after that it is dropped.
That is longer than the API function's timeout (10 s): a write still in flight cannot be later.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger

logger = Logger(child=True)
ORPHAN_AFTER_SECONDS = 30


class RecordNotYetWritten(Exception):
    """The record a message names is not in the table yet: redeliver the message later."""


def missing_record(kind: str, record_id: str, sent_at: float) -> str:
    """Raise RecordNotYetWritten while the message is young; else log and return `orphan`."""
    if time.time() - sent_at < ORPHAN_AFTER_SECONDS:
        raise RecordNotYetWritten(f"{kind} {record_id}")
    logger.warning(
        "dropping a message whose record was never written",
        extra={"kind": kind, "record_id": record_id},
    )
    return "orphan"
