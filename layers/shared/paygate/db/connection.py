"""The process's one PynamoDB connection for transactions (a new one per transaction would build
a new botocore client each time: hundreds of milliseconds)."""

from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    return Connection(max_pool_connections=64)


def warm_up() -> None:
    """Build every botocore client now, one after the other. PynamoDB makes one per model on
    first use; left to the first requests, concurrent threads each build their own copy of the
    service model (hundreds of ms of CPU each)."""
    from paygate.db import models
    from paygate.queues import sqs_client

    for model in (
        models.MerchantModel,
        models.OrderModel,
        models.PaymentModel,
        models.RefundModel,
        models.EventModel,
        models.WebhookLogModel,
        models.CounterModel,
    ):
        model._get_connection().connection.client  # noqa: B018 - builds and caches it
    shared_connection().client  # noqa: B018
    sqs_client()
