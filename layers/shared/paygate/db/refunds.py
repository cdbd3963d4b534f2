"""Refund storage: the reservation of the amount on the payment and the refund are one write."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from paygate.db import pending
from paygate.db.connection import shared_connection
from paygate.db.errors import retry_conflicts, storage_errors
from paygate.db.models import EventModel, PaymentModel, RefundModel


class RefundRepository:
    def get(self, refund_id: str) -> RefundModel | None:
        with storage_errors():
            try:
                return RefundModel.get(refund_id, consistent_read=True)
            except RefundModel.DoesNotExist:
                return None

    def create(self, payment: PaymentModel, refund: RefundModel, events: list[EventModel]) -> None:
        """Reserve `refund.amount` on a `success` payment and insert the refund with its events.

        The condition `refunded_amount <= amount - requested` is checked by DynamoDB in the same
        transaction that adds to `refunded_amount`, so concurrent refunds can never over-refund.
        ConditionFailed (reasons[0] set) when the payment is not refundable for that amount."""
        headroom = int(payment.amount) - int(refund.amount)
        condition = (PaymentModel.status == "success") & (PaymentModel.refunded_amount <= headroom)

        def write():
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.update(
                    payment,
                    condition=condition,
                    actions=[PaymentModel.refunded_amount.add(int(refund.amount))],
                )
                tx.save(refund, condition=RefundModel.id.does_not_exist())
                for event in events:
                    tx.save(event, condition=EventModel.id.does_not_exist())

        retry_conflicts(write)

    def mark_processed(self, refund: RefundModel, at: str, events: list[EventModel]) -> None:
        """`pending` → `processed` with its events; ConditionFailed if no longer pending."""
        with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
            tx.update(
                refund,
                actions=[
                    RefundModel.status.set("processed"),
                    RefundModel.processed_at.set(at),
                    RefundModel.pending_shard.remove(),
                    RefundModel.pending_due.remove(),
                ],
                condition=RefundModel.status == "pending",
            )
            for event in events:
                tx.save(event, condition=EventModel.id.does_not_exist())

    def due_for_reconciliation(self, before: str, limit: int) -> list[RefundModel]:
        """Refunds still `pending` whose `pending_due` is before `before` (ISO), oldest first."""
        return pending.due(RefundModel, before, limit)

    def postpone(self, refund: RefundModel, due: str) -> None:
        """Look at a still-pending refund again at `due`; ConditionFailed once processed."""
        pending.postpone(refund, due)

    def for_payment(self, payment_id: str) -> list[RefundModel]:
        """Every refund of a payment, newest first."""
        with storage_errors():
            return list(RefundModel.by_payment.query(payment_id, scan_index_forward=False))
