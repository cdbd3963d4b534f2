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
    webhook_endpoints: object
    delivery: object
    events: object
    health: object
    counters: object
    idempotency: object
    reconciler: object


@lru_cache(maxsize=1)
def services() -> Services:
    """The process's services, wired to their repositories and queues."""
    from paygate.db.connection import warm_up
    from paygate.db.counters import CounterRepository
    from paygate.db.events import EventRepository
    from paygate.db.merchants import MerchantRepository
    from paygate.db.orders import OrderRepository
    from paygate.db.payments import PaymentRepository
    from paygate.db.rate_limits import RateLimitRepository
    from paygate.db.refunds import RefundRepository
    from paygate.db.webhook_endpoints import WebhookEndpointRepository
    from paygate.db.webhooks import WebhookRepository
    from paygate.queues import Queue
    from paygate.services.events import EventPublisher, EventService
    from paygate.services.health import HealthService
    from paygate.services.idempotency import IdempotentRequests
    from paygate.services.merchants import (
        LOGIN_FAILURES,
        LOGIN_WINDOW_SECONDS,
        SIGNUP_WINDOW_SECONDS,
        LoginLimits,
        MerchantService,
    )
    from paygate.services.orders import OrderService
    from paygate.services.payments import (
        PUBLIC_ATTEMPTS_PER_ORDER,
        PUBLIC_ATTEMPTS_WINDOW_SECONDS,
        PaymentService,
    )
    from paygate.services.rate_limits import RateLimiter
    from paygate.services.reconciler import Reconciler
    from paygate.services.refunds import RefundService
    from paygate.services.webhook_endpoints import (
        EndpointDirectory,
        EndpointHealth,
        WebhookEndpointService,
    )
    from paygate.services.webhooks import (
        MANUAL_RETRIES_PER_MINUTE,
        REPLAYS_PER_MINUTE,
        TEST_WEBHOOKS_PER_MINUTE,
        WebhookDelivery,
        WebhookService,
    )

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
    dead_letter_queues = {
        "payment": Queue(settings.payment_dlq_url),
        "refund": Queue(settings.refund_dlq_url),
        "webhook": Queue(settings.webhook_dlq_url),
    }
    publisher = EventPublisher(work_queues[2])
    webhook_repo = WebhookRepository()
    refund_repo = RefundRepository()
    rate_limits = RateLimitRepository()
    endpoint_repo = WebhookEndpointRepository()
    directory = EndpointDirectory(endpoint_repo, merchant_repo)
    endpoints = WebhookEndpointService(directory, endpoint_repo, merchant_repo, settings)
    login_limits = LoginLimits(
        account=RateLimiter(rate_limits, "login-account", LOGIN_FAILURES, LOGIN_WINDOW_SECONDS),
        address=RateLimiter(rate_limits, "login-address", LOGIN_FAILURES, LOGIN_WINDOW_SECONDS),
    )
    return Services(
        settings=settings,
        merchants=MerchantService(
            merchant_repo,
            settings,
            login_limits,
            RateLimiter(
                rate_limits,
                "signup-address",
                settings.signups_per_address_per_hour,
                SIGNUP_WINDOW_SECONDS,
            ),
        ),
        orders=orders,
        payments=PaymentService(
            payment_repo,
            orders,
            counters,
            work_queues[0],
            settings,
            merchant_repo,
            publisher,
            public_limiter=RateLimiter(
                rate_limits,
                "public_payment",
                PUBLIC_ATTEMPTS_PER_ORDER,
                PUBLIC_ATTEMPTS_WINDOW_SECONDS,
            ),
        ),
        refunds=RefundService(
            refund_repo, payment_repo, work_queues[1], settings, merchant_repo, publisher
        ),
        webhooks=WebhookService(
            webhook_repo,
            merchant_repo,
            publisher,
            counters,
            work_queues[2],
            settings,
            RateLimiter(rate_limits, "webhook_test", TEST_WEBHOOKS_PER_MINUTE, 60),
            endpoints,
            retry_limiter=RateLimiter(rate_limits, "webhook_retry", MANUAL_RETRIES_PER_MINUTE, 60),
            replay_limiter=RateLimiter(rate_limits, "webhook_replay", REPLAYS_PER_MINUTE, 60),
        ),
        webhook_endpoints=endpoints,
        delivery=WebhookDelivery(
            webhook_repo,
            merchant_repo,
            work_queues[2],
            settings,
            directory=directory,
            health=EndpointHealth(endpoint_repo, settings),
        ),
        events=EventService(EventRepository()),
        health=HealthService(
            counters, work_queues, settings, dead_letter_queues=dead_letter_queues
        ),
        counters=counters,
        idempotency=IdempotentRequests(settings.idempotency_table, settings.auth_token_secret),
        reconciler=Reconciler(payment_repo, refund_repo, work_queues[0], work_queues[1], settings),
    )
