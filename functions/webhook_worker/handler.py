"""Webhook worker: creates one log per event and makes signed delivery attempts with retries."""

from __future__ import annotations

import json
import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.batch import process_batch, sent_at
from paygate.wiring import services

logger = Logger(service="webhook-worker")
metrics = Metrics(service="webhook-worker")
# Every record of a batch at once (BatchSize is 10): one receiver's 5 s never queues another
# merchant's delivery behind it, and a batch ends within one attempt's bound.
RECORDS_AT_ONCE = 10
_metrics_lock = threading.Lock()  # Metrics.add_metric is not thread-safe for a new name


def record_handler(record: SQSRecord) -> str:
    """Hand an event to delivery or make one attempt; raising redelivers just this record."""
    message = json.loads(record.body)
    outcome = services().delivery.handle(message, sent_at(record))
    logger.info("webhook", extra={"job": message, "outcome": outcome})
    with _metrics_lock:
        metrics.add_metric(name=f"Webhook_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, record_handler, "webhook", RECORDS_AT_ONCE)
