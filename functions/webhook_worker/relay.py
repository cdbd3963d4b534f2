"""Outbox relay (scheduled): re-sends events that a crash left between commit and hand-off."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from paygate.wiring import services

logger = Logger(service="outbox-relay")


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return {"resent": services().delivery.sweep()}
