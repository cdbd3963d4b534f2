"""The process's AWS clients: one PynamoDB connection for transactions (a new one per transaction
would build a new botocore client each time: hundreds of milliseconds), and one botocore model
cache for every client of the process."""

from __future__ import annotations

from functools import lru_cache

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader
from pynamodb.connection import Connection
from pynamodb.connection import base as pynamodb_base


@lru_cache(maxsize=1)
def _data_loader():
    return create_loader()


def botocore_session() -> botocore.session.Session:
    """A botocore session that shares the process's one service-model loader. PynamoDB builds a
    session per model (and per thread) and boto3 has its own: each would parse the same JSON
    models again, about 0.1 s of CPU per client, paid by every cold start."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _data_loader())
    return session


def share_service_models() -> None:
    """Make PynamoDB's and boto3's sessions share the loader (idempotent)."""
    if pynamodb_base.get_session is not botocore_session:
        pynamodb_base.get_session = botocore_session
        boto3.setup_default_session(botocore_session=botocore_session())


share_service_models()


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    return Connection(max_pool_connections=64)


@lru_cache(maxsize=1)
def dynamodb_client():
    """The process's one low-level DynamoDB client, for code that takes a boto3 client
    (Powertools' idempotency store)."""
    return boto3.client("dynamodb", config=Config(max_pool_connections=64))


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
    dynamodb_client()
    sqs_client()
