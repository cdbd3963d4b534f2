"""Payments: creation (pending, queued for the simulated bank), settlement, capture, reads."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db.counters import CounterRepository
from paygate.db.errors import ConditionFailed
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, PaymentModel
from paygate.db.payments import PaymentRepository
from paygate.domain import payments as rules
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest, NotFound
from paygate.queues import Queue
from paygate.services.events import EventPublisher, new_event, wants_event
from paygate.services.jobs import missing_record
from paygate.services.orders import OrderService
from paygate.services.views import payment_public_view, payment_view
from paygate.settings import Settings

logger = Logger(child=True)

# How old a cached merchant may be when deciding whether an event goes to its webhook URL.
URL_MAX_AGE = 5


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
    ) -> None:
        self.repo = repo
        self.orders = orders
        self.counters = counters
        self.queue = queue
        self.settings = settings
        self.merchants = merchants
        self.publisher = publisher

    def _wants_webhooks(
        self, merchant_id: str, name: str, known: MerchantModel | None = None
    ) -> bool:
        """Only events an endpoint of the merchant takes go to the webhook pipeline."""
        merchant = known if known is not None else self.merchants.get(merchant_id, URL_MAX_AGE)
        return wants_event(merchant, name)

    # ------------------------------------------------------------------ create
    def create(self, merchant: MerchantModel | None, body: object) -> dict:
        """Validate, store as `pending` with its creation events, and queue the settlement.
        `merchant` None is the public checkout call: the order decides the merchant."""
        request = rules.parse_payment_request(body, clock.now())
        order = self.orders.find(request.order_id, merchant.id if merchant else None)
        now = clock.iso()
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
        self.queue.send({"payment_id": payment.id}, delay_ms=delay)
        self.repo.create(payment, events)
        self.publisher.publish(events)
        return view

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
        event = new_event(
            payment.merchant_id,
            f"payment.{outcome}",
            {"payment": payment_view(settled)},
            self._wants_webhooks(payment.merchant_id, f"payment.{outcome}"),
        )
        try:
            self.repo.settle(payment, outcome, now, [event], error)
        except ConditionFailed:
            current = self.repo.get(payment_id)
            if current is not None and current.status == "pending":
                raise  # nobody settled it: the write failed for another reason, so retry
            return "already_settled"
        self.publisher.publish([event])
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
        totals = self.counters.merchant_stats(merchant.id)
        count = totals["payments_total"]
        rate = round(100 * totals["payments_success"] / count, 2) if count else 0
        return {
            "total_transactions": count,
            "total_amount": totals["amount_success"],
            "success_rate": rate,
        }

    # ------------------------------------------------------------------ capture
    def capture(self, merchant: MerchantModel, payment_id: str, body: object) -> dict:
        payment = self._find(payment_id, merchant.id)
        if body is not None and not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        amount = (body or {}).get("amount")
        if amount is not None and (isinstance(amount, bool) or amount != int(payment.amount)):
            raise BadRequest("Capture amount must equal the payment amount")
        if payment.status != "success" or payment.captured:
            raise BadRequest("Payment not in capturable state")
        try:
            self.repo.capture(payment, clock.iso())
        except ConditionFailed as exc:
            raise BadRequest("Payment not in capturable state") from exc
        return payment_view(payment)  # update() refreshed it from the stored item
