"""Payments: creation (pending, queued for the simulated bank), settlement, capture, reads."""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db import pending
from paygate.db.counters import CounterRepository
from paygate.db.errors import ConditionFailed
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, OrderModel, PaymentModel
from paygate.db.payments import PaymentRepository, order_settled_by, order_taken_by
from paygate.domain import payments as rules
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest, NotFound
from paygate.money import parse_amount
from paygate.queues import Queue
from paygate.services.events import EventPublisher, new_event, wants_event
from paygate.services.jobs import missing_record
from paygate.services.orders import OrderService
from paygate.services.rate_limits import RateLimiter
from paygate.services.views import order_view, payment_public_view, payment_view
from paygate.settings import Settings

logger = Logger(child=True)

# How old a cached merchant may be when deciding whether an event goes to its webhook URL.
URL_MAX_AGE = 5
ALREADY_PAID = "Order is already paid"
IN_PROGRESS = "Order has a payment in progress"
# A create whose order condition failed although the order now looks free (its pending payment
# settled meanwhile) tries the same payment again this many times.
CREATE_ATTEMPTS = 3
# Checkout (public, unauthenticated) payment attempts per order per hour: a customer retrying
# after failures stays far below it, while nobody can keep someone's order busy with endless
# pending attempts (or flood its merchant with payment events).
PUBLIC_ATTEMPTS_PER_ORDER = 10
PUBLIC_ATTEMPTS_WINDOW_SECONDS = 3600


def refusal(order: OrderModel) -> str | None:
    """Why `order` takes no new payment now (CONTRACT §5), or None when it does."""
    if order.status == "paid":
        return ALREADY_PAID
    if order.pending_payment_id:
        return IN_PROGRESS
    return None


class PaymentService:
    def __init__(
        self,
        repo: PaymentRepository,
        orders: OrderService,
        counters: CounterRepository,
        queue: Queue,
        settings: Settings,
        merchants: MerchantRepository,
        publisher: EventPublisher,
        public_limiter: RateLimiter | None = None,
    ) -> None:
        self.repo = repo
        self.orders = orders
        self.counters = counters
        self.queue = queue
        self.settings = settings
        self.merchants = merchants
        self.publisher = publisher
        self.public_limiter = public_limiter

    def _wants_webhooks(
        self, merchant_id: str, name: str, known: MerchantModel | None = None
    ) -> bool:
        """Only events an endpoint of the merchant takes go to the webhook pipeline."""
        merchant = known if known is not None else self.merchants.get(merchant_id, URL_MAX_AGE)
        return wants_event(merchant, name)

    # ------------------------------------------------------------------ create
    def create(self, merchant: MerchantModel | None, body: object) -> dict:
        """Validate, store as `pending` with its creation events, and queue the settlement.
        `merchant` None is the public checkout call: the order decides the merchant; it gets
        the public view back. The order must have no payment pending and not be paid: checked
        here first, and again by the transaction's condition, which is what holds under any
        concurrency."""
        request = rules.parse_payment_request(body, clock.now())
        order = self.orders.find(request.order_id, merchant.id if merchant else None)
        if reason := refusal(order):
            raise BadRequest(reason)
        if merchant is None and self.public_limiter is not None:
            self.public_limiter.hit(
                order.id,
                f"At most {PUBLIC_ATTEMPTS_PER_ORDER} checkout payment attempts per order per hour",
            )
        started = clock.now()
        now = clock.iso(started)
        due = clock.iso(started + timedelta(seconds=self.settings.reconcile_after_seconds))
        payment = PaymentModel(
            id=ids.new_id("pay"),
            merchant_id=order.merchant_id,
            order_id=order.id,
            amount=int(order.amount),
            currency=order.currency,
            method=request.method,
            vpa=request.vpa,
            card_network=request.card_network,
            card_last4=request.card_last4,
            status="pending",
            captured=False,
            forced_outcome=request.forced_outcome,
            refunded_amount=0,
            created_at=now,
            updated_at=now,
            pending_shard=pending.new_shard(),
            pending_due=due,
        )
        view = payment_view(payment)
        owner = merchant or self.merchants.get(order.merchant_id, URL_MAX_AGE)
        events = [
            new_event(
                payment.merchant_id,
                name,
                {"payment": view},
                self._wants_webhooks(order.merchant_id, name, owner),
            )
            for name in ("payment.created", "payment.pending")
        ]
        delay = rules.bank_delay_ms(self.settings.test_mode, self.settings.test_processing_delay_ms)
        # Sent before the write, so no crash can leave a pending payment without its job. If the
        # write is refused, the message names a payment that never exists: the worker drops it
        # as an orphan (services.jobs), and it cannot settle anything else.
        self.queue.send({"payment_id": payment.id}, delay_ms=delay)
        self._insert(payment, order, events, now)
        self.publisher.publish(events)
        return view if merchant is not None else payment_public_view(payment)

    def _insert(self, payment: PaymentModel, order: OrderModel, events: list, now: str) -> None:
        """The creation transaction; a refused order condition becomes the contract's 400."""
        for _ in range(CREATE_ATTEMPTS):
            try:
                self.repo.create(payment, order_taken_by(payment, order, now), events)
                return
            except ConditionFailed:
                order = self.orders.find(order.id)
                if payment.id in (order.pending_payment_id, order.paid_payment_id):
                    return  # an earlier try of this very write landed (its answer was lost)
                if reason := refusal(order):
                    raise BadRequest(reason) from None
        raise BadRequest(IN_PROGRESS)

    # ------------------------------------------------------------------ settle
    def settle(self, payment_id: str, sent_at: float) -> str:
        """Settle one payment exactly once; returns what happened (for logs and tests)."""
        payment = self.repo.get(payment_id)
        if payment is None:
            return missing_record("payment", payment_id, sent_at)
        if payment.status != "pending":
            return "already_settled"
        outcome = rules.decide_outcome(
            payment.method,
            payment.forced_outcome,
            self.settings.test_mode,
            self.settings.test_payment_success,
        )
        now = clock.iso()
        error = (rules.FAILURE_CODE, rules.FAILURE_DESCRIPTION) if outcome == "failed" else None
        settled = PaymentModel(**{**payment.attribute_values, "status": outcome, "updated_at": now})
        if error:
            settled.error_code, settled.error_description = error
        owner = self.merchants.get(payment.merchant_id, URL_MAX_AGE)
        events = [
            new_event(
                payment.merchant_id,
                f"payment.{outcome}",
                {"payment": payment_view(settled)},
                self._wants_webhooks(payment.merchant_id, f"payment.{outcome}", owner),
            )
        ]
        order = self.orders.find(payment.order_id)
        change = order_settled_by(payment, order, outcome, now)
        if outcome == "success" and order.status != "paid":
            paid = OrderModel(
                **{
                    **order.attribute_values,
                    "status": "paid",
                    "amount_paid": int(payment.amount),
                    "paid_payment_id": payment.id,
                    "updated_at": now,
                }
            )
            paid.pending_payment_id = None
            events.append(
                new_event(
                    payment.merchant_id,
                    "order.paid",
                    {"order": order_view(paid), "payment": payment_view(settled)},
                    self._wants_webhooks(payment.merchant_id, "order.paid", owner),
                )
            )
        try:
            self.repo.settle(payment, outcome, now, events, error, change)
        except ConditionFailed:
            current = self.repo.get(payment_id)
            if current is not None and current.status == "pending":
                raise  # nobody settled it: the write failed for another reason, so retry
            return "already_settled"
        self.publisher.publish(events)
        return outcome

    # ------------------------------------------------------------------ reads
    def _find(self, payment_id: str, merchant_id: str | None) -> PaymentModel:
        payment = self.repo.get(payment_id) if ids.is_id(payment_id, "pay") else None
        if payment is None or (merchant_id is not None and payment.merchant_id != merchant_id):
            raise NotFound("Payment not found")
        return payment

    def get(self, merchant: MerchantModel, payment_id: str) -> dict:
        return payment_view(self._find(payment_id, merchant.id))

    def get_public(self, payment_id: str) -> dict:
        return payment_public_view(self._find(payment_id, None))

    def list(self, merchant: MerchantModel, query: dict | None) -> dict:
        limit, offset = parse_page(query)
        items = self.repo.list_for_merchant(merchant.id, limit, offset)
        total = self.counters.merchant_stats(merchant.id)["payments_total"]
        return {
            "data": [payment_view(p) for p in items],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def stats(self, merchant: MerchantModel) -> dict:
        """Counts over every currency; amounts only per currency (`total_amount` is the INR
        figure, as merchants' tools expect; `by_currency` holds each currency's own)."""
        totals = self.counters.merchant_stats(merchant.id)
        by_currency = {
            currency: {
                "total_transactions": c["payments_total"],
                "total_amount": c["amount_success"],
                "success_rate": _rate(c["payments_success"], c["payments_total"]),
            }
            for currency, c in self.counters.merchant_stats_by_currency(merchant.id).items()
        }
        return {
            "total_transactions": totals["payments_total"],
            "total_amount": by_currency.get("INR", {}).get("total_amount", 0),
            "success_rate": _rate(totals["payments_success"], totals["payments_total"]),
            "by_currency": by_currency,
        }

    # ------------------------------------------------------------------ capture
    def capture(self, merchant: MerchantModel, payment_id: str, body: object) -> dict:
        payment = self._find(payment_id, merchant.id)
        if body is not None and not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        amount = (body or {}).get("amount")
        # An integer in minor units, as everywhere (10000.0 == 10000 in Python, not here).
        if amount is not None and parse_amount(amount) != int(payment.amount):
            raise BadRequest("Capture amount must equal the payment amount")
        if payment.status != "success" or payment.captured:
            raise BadRequest("Payment not in capturable state")
        try:
            self.repo.capture(payment, clock.iso())
        except ConditionFailed as exc:
            raise BadRequest("Payment not in capturable state") from exc
        return payment_view(payment)  # update() refreshed it from the stored item


def _rate(successes: int, total: int) -> float | int:
    """Percentage of successes, two decimals; 0 when there is nothing yet."""
    return round(100 * successes / total, 2) if total else 0
