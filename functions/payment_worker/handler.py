"""Payment worker: settles each queued payment exactly once (Powertools partial batch)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.batch import process_batch, sent_at
from paygate.wiring import services

logger = Logger(service="payment-worker")
metrics = Metrics(service="payment-worker")


def record_handler(record: SQSRecord) -> str:
    """Settle the payment named by one message; raising makes SQS redeliver just this record."""
    payment_id = json.loads(record.body)["payment_id"]
    outcome = services().payments.settle(payment_id, sent_at(record))
    logger.info("settle", extra={"payment_id": payment_id, "outcome": outcome})
    metrics.add_metric(name=f"Settle_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, record_handler, "payment")
