"""Outbox relay (scheduled every minute): re-sends events that a crash left between commit and
hand-off, and the next attempt of webhook logs whose attempt message was lost or dead-lettered
(overdue by more than 5 minutes), so no log stays `pending` for ever."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from paygate.wiring import services

logger = Logger(service="outbox-relay")


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return {"resent": services().delivery.sweep()}
