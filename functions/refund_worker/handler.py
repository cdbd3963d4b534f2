"""Refund worker: marks each queued refund processed exactly once (Powertools partial batch)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.batch import process_batch, sent_at
from paygate.wiring import services

logger = Logger(service="refund-worker")
metrics = Metrics(service="refund-worker")


def record_handler(record: SQSRecord) -> str:
    """Process the refund named by one message; raising makes SQS redeliver just this record."""
    refund_id = json.loads(record.body)["refund_id"]
    outcome = services().refunds.process(refund_id, sent_at(record))
    logger.info("refund", extra={"refund_id": refund_id, "outcome": outcome})
    metrics.add_metric(name=f"Refund_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, record_handler, "refund")
