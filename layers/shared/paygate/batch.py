"""What every SQS worker does around its record handler: partial batch responses and counts."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.wiring import services


def sent_at(record: SQSRecord) -> float:
    """When the message was first sent, in unix seconds."""
    return int(record.attributes.sent_timestamp) / 1000


def process_batch(
    event: dict, context, record_handler: Callable[[SQSRecord], object], kind: str
) -> dict:
    """Run `record_handler` over every record; failures go back as `batchItemFailures` and the
    job counters of `kind` (shown by /api/v1/test/jobs/status) are updated."""
    # A processor per invocation: its state is per batch, and the local runtime runs several
    # batches of one function at once in threads, as Lambda runs them in separate sandboxes.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    result = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(result["batchItemFailures"])
    services().counters.add_job_results(kind, len(event["Records"]) - failed, failed)
    return result
