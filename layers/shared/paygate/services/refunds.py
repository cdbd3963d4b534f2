"""Refunds: full and partial, never above the payment, processed by the refund worker."""

from __future__ import annotations

import random
from datetime import timedelta

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db import pending
from paygate.db.errors import ConditionFailed
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, PaymentModel, RefundModel
from paygate.db.payments import PaymentRepository
from paygate.db.refunds import RefundRepository
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest, NotFound
from paygate.money import parse_amount
from paygate.queues import Queue
from paygate.services.events import EventPublisher, new_event, wants_event
from paygate.services.jobs import missing_record
from paygate.services.payments import URL_MAX_AGE
from paygate.services.views import payment_view, refund_view
from paygate.settings import Settings

logger = Logger(child=True)
EXCEEDS = "Refund amount exceeds available amount"


def parse_refund_request(body: object) -> tuple[int, str | None]:
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    amount = parse_amount(body.get("amount"), minimum=1)
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
        raise BadRequest("reason must be a string of at most 255 characters")
    return amount, reason


class RefundService:
    def __init__(
        self,
        repo: RefundRepository,
        payments: PaymentRepository,
        queue: Queue,
        settings: Settings,
        merchants: MerchantRepository,
        publisher: EventPublisher,
    ) -> None:
        self.repo = repo
        self.payments = payments
        self.queue = queue
        self.settings = settings
        self.merchants = merchants
        self.publisher = publisher

    def _payment(self, merchant: MerchantModel, payment_id: str) -> PaymentModel:
        payment = self.payments.get(payment_id) if ids.is_id(payment_id, "pay") else None
        if payment is None or payment.merchant_id != merchant.id:
            raise NotFound("Payment not found")
        return payment

    def _delay_ms(self) -> int:
        if self.settings.test_mode:
            return self.settings.test_processing_delay_ms
        return random.randint(3000, 5000)

    def create(self, merchant: MerchantModel, payment_id: str, body: object) -> dict:
        """Reserve the amount and queue the refund; 400 when it is not refundable."""
        amount, reason = parse_refund_request(body)
        payment = self._payment(merchant, payment_id)
        if payment.status != "success":
            raise BadRequest("Payment not in refundable state")
        if amount > int(payment.amount) - int(payment.refunded_amount or 0):
            raise BadRequest(EXCEEDS)
        started = clock.now()
        refund = RefundModel(
            id=ids.new_id("rfnd"),
            payment_id=payment.id,
            merchant_id=merchant.id,
            amount=amount,
            reason=reason,
            status="pending",
            created_at=clock.iso(started),
            pending_shard=pending.new_shard(),
            pending_due=clock.iso(
                started + timedelta(seconds=self.settings.reconcile_after_seconds)
            ),
        )
        view = refund_view(refund)
        event = new_event(
            merchant.id,
            "refund.created",
            {"refund": view, "payment": payment_view(payment)},
            wants_event(merchant, "refund.created"),
        )
        self.queue.send({"refund_id": refund.id}, delay_ms=self._delay_ms())
        try:
            self.repo.create(payment, refund, [event])
        except ConditionFailed as exc:
            raise BadRequest(EXCEEDS) from exc
        self.publisher.publish([event])
        return view

    def process(self, refund_id: str, sent_at: float) -> str:
        """Mark one refund processed exactly once; returns what happened."""
        refund = self.repo.get(refund_id)
        if refund is None:
            return missing_record("refund", refund_id, sent_at)
        if refund.status != "pending":
            return "already_processed"
        now = clock.iso()
        payment = self.payments.get(refund.payment_id)
        processed = RefundModel(
            **{**refund.attribute_values, "status": "processed", "processed_at": now}
        )
        merchant = self.merchants.get(refund.merchant_id, URL_MAX_AGE)
        event = new_event(
            refund.merchant_id,
            "refund.processed",
            {"refund": refund_view(processed), "payment": payment_view(payment)},
            wants_event(merchant, "refund.processed"),
        )
        try:
            self.repo.mark_processed(refund, now, [event])
        except ConditionFailed:
            current = self.repo.get(refund_id)
            if current is not None and current.status == "pending":
                raise  # nobody processed it: the write failed for another reason, so retry
            return "already_processed"
        self.publisher.publish([event])
        return "processed"

    def get(self, merchant: MerchantModel, refund_id: str) -> dict:
        refund = self.repo.get(refund_id) if ids.is_id(refund_id, "rfnd") else None
        if refund is None or refund.merchant_id != merchant.id:
            raise NotFound("Refund not found")
        return refund_view(refund)

    def list_for_payment(
        self, merchant: MerchantModel, payment_id: str, query: dict | None
    ) -> dict:
        limit, offset = parse_page(query)
        payment = self._payment(merchant, payment_id)
        refunds = self.repo.for_payment(payment.id)
        return {
            "data": [refund_view(r) for r in refunds[offset : offset + limit]],
            "total": len(refunds),
            "limit": limit,
            "offset": offset,
        }
