"""Builds the services once per process, lazily (so importing costs nothing at cold start), and
with them every AWS client the process will use (so no request pays for building one)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from paygate.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    merchants: object
    orders: object
    payments: object
    refunds: object
    webhooks: object
    delivery: object
    health: object
    counters: object
    create_payment_key: object
    create_order_key: object
    create_refund_key: object


@lru_cache(maxsize=1)
def services() -> Services:
    """The process's services, wired to their repositories and queues."""
    from paygate.db.connection import warm_up
    from paygate.db.counters import CounterRepository
    from paygate.db.merchants import MerchantRepository
    from paygate.db.orders import OrderRepository
    from paygate.db.payments import PaymentRepository
    from paygate.db.refunds import RefundRepository
    from paygate.db.webhooks import WebhookRepository
    from paygate.queues import Queue
    from paygate.services.events import EventPublisher
    from paygate.services.health import HealthService
    from paygate.services.idempotency import IdempotentOperation
    from paygate.services.merchants import MerchantService
    from paygate.services.orders import OrderService
    from paygate.services.payments import PaymentService
    from paygate.services.refunds import RefundService
    from paygate.services.webhooks import WebhookDelivery, WebhookService

    settings = get_settings()
    warm_up()
    merchant_repo = MerchantRepository()
    counters = CounterRepository()
    payment_repo = PaymentRepository()
    orders = OrderService(OrderRepository(), merchant_repo)
    work_queues = [
        Queue(settings.payment_queue_url),
        Queue(settings.refund_queue_url),
        Queue(settings.webhook_queue_url),
    ]
    publisher = EventPublisher(work_queues[2])
    webhook_repo = WebhookRepository()
    return Services(
        settings=settings,
        merchants=MerchantService(merchant_repo, settings),
        orders=orders,
        payments=PaymentService(
            payment_repo, orders, counters, work_queues[0], settings, merchant_repo, publisher
        ),
        refunds=RefundService(
            RefundRepository(), payment_repo, work_queues[1], settings, merchant_repo, publisher
        ),
        webhooks=WebhookService(
            webhook_repo, merchant_repo, publisher, counters, work_queues[2], settings
        ),
        delivery=WebhookDelivery(webhook_repo, merchant_repo, work_queues[2], settings),
        health=HealthService(counters, work_queues, settings),
        counters=counters,
        create_payment_key=IdempotentOperation(
            settings.idempotency_table, "create_payment", settings.auth_token_secret
        ),
        create_order_key=IdempotentOperation(
            settings.idempotency_table, "create_order", settings.auth_token_secret
        ),
        create_refund_key=IdempotentOperation(
            settings.idempotency_table, "create_refund", settings.auth_token_secret
        ),
    )
