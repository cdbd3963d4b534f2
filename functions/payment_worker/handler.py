"""Payment worker: settles each queued payment exactly once (Powertools partial batch)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.wiring import services

logger = Logger(service="payment-worker")
metrics = Metrics(service="payment-worker")


def record_handler(record: SQSRecord) -> str:
    """Settle the payment named by one message; raising makes SQS redeliver just this record."""
    message = json.loads(record.body)
    sent_at = int(record.attributes.sent_timestamp) / 1000
    outcome = services().payments.settle(message["payment_id"], sent_at)
    logger.info("settle", extra={"payment_id": message["payment_id"], "outcome": outcome})
    metrics.add_metric(name=f"Settle_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    # A processor per invocation: its state is per batch, and the local runtime runs several
    # batches of one function at once in threads, as Lambda runs them in separate sandboxes.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    result = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(result["batchItemFailures"])
    services().counters.add_job_results("payment", len(event["Records"]) - failed, failed)
    return result
