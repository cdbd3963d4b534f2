"""Reconciler (scheduled): re-queues the jobs of payments and refunds still pending past their
time, so a lost or dead-lettered message never leaves one pending for ever."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from paygate.wiring import services

logger = Logger(service="reconciler")


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    requeued = services().reconciler.run()
    logger.info("reconciled", extra={"requeued": requeued})
    return {"requeued": requeued}
