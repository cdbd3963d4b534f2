"""Payment storage: creation and settlement are transactions with their outbox events."""

from __future__ import annotations

from dataclasses import dataclass, field

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from paygate.db import pending
from paygate.db.connection import shared_connection
from paygate.db.counters import payment_created_counts, payment_succeeded_counts
from paygate.db.errors import retry_conflicts, storage_errors
from paygate.db.models import EventModel, OrderModel, PaymentModel


@dataclass
class OrderChange:
    """What a payment's transaction does to its order: update `actions` under `condition`."""

    order: OrderModel
    actions: list = field(default_factory=list)
    condition: Condition | None = None


def order_taken_by(payment: PaymentModel, order: OrderModel, at: str) -> OrderChange:
    """A new payment takes the order's one pending slot: only if no other payment holds it and
    the order is not paid (values computed here: no arithmetic in the condition)."""
    return OrderChange(
        order,
        actions=[
            OrderModel.status.set("attempted"),
            OrderModel.pending_payment_id.set(payment.id),
            OrderModel.attempts.add(1),
            OrderModel.updated_at.set(at),
        ],
        condition=OrderModel.id.exists()
        & OrderModel.pending_payment_id.does_not_exist()
        & (OrderModel.status != "paid"),
    )


def order_settled_by(payment: PaymentModel, order: OrderModel, status: str, at: str):
    """The order's side of a settle: `paid` on success; on failure the slot is freed so a new
    attempt may start. Returns None when the order has nothing to change (a payment that never
    held the slot, written before orders had one, fails without touching it)."""
    holds_slot = order.pending_payment_id == payment.id
    actions = [OrderModel.pending_payment_id.remove()] if holds_slot else []
    if status == "success":
        actions += [
            OrderModel.status.set("paid"),
            OrderModel.amount_paid.set(int(payment.amount)),
            OrderModel.paid_payment_id.set(payment.id),
        ]
    if not actions:
        return None
    actions.append(OrderModel.updated_at.set(at))
    condition = OrderModel.pending_payment_id == payment.id if holds_slot else None
    return OrderChange(order, actions, condition)


class PaymentRepository:
    def get(self, payment_id: str) -> PaymentModel | None:
        with storage_errors():
            try:
                return PaymentModel.get(payment_id, consistent_read=True)
            except PaymentModel.DoesNotExist:
                return None

    def create(self, payment: PaymentModel, order: OrderChange, events: list[EventModel]) -> None:
        """Insert the payment, take its order's pending slot, and write its creation events and
        the merchant's counts, in one transaction. ConditionFailed when the order is taken."""
        absent = PaymentModel.id.does_not_exist()
        counts = payment_created_counts(payment.merchant_id, payment.currency)

        def write():
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.save(payment, condition=absent)
                tx.update(order.order, actions=order.actions, condition=order.condition)
                for event in events:
                    tx.save(event, condition=EventModel.id.does_not_exist())
                for counter, actions in counts:
                    tx.update(counter, actions=actions)

        retry_conflicts(write)

    def settle(
        self,
        payment: PaymentModel,
        status: str,
        at: str,
        events: list[EventModel],
        error: tuple[str, str] | None = None,
        order: OrderChange | None = None,
    ) -> None:
        """Move a `pending` payment to `status` with its order's change and its events, in one
        transaction; ConditionFailed if the payment is no longer pending."""
        actions = [
            PaymentModel.status.set(status),
            PaymentModel.updated_at.set(at),
            PaymentModel.pending_shard.remove(),
            PaymentModel.pending_due.remove(),
        ]
        if error:
            actions += [
                PaymentModel.error_code.set(error[0]),
                PaymentModel.error_description.set(error[1]),
            ]
        counts = []
        if status == "success":
            counts = payment_succeeded_counts(
                payment.merchant_id, payment.currency, int(payment.amount)
            )

        def write():
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.update(payment, actions=actions, condition=PaymentModel.status == "pending")
                if order is not None:
                    tx.update(order.order, actions=order.actions, condition=order.condition)
                for event in events:
                    tx.save(event, condition=EventModel.id.does_not_exist())
                for counter, counter_actions in counts:
                    tx.update(counter, actions=counter_actions)

        retry_conflicts(write)

    def due_for_reconciliation(self, before: str, limit: int) -> list[PaymentModel]:
        """Payments still `pending` whose `pending_due` is before `before` (ISO), oldest first."""
        return pending.due(PaymentModel, before, limit)

    def postpone(self, payment: PaymentModel, due: str) -> None:
        """Look at a still-pending payment again at `due`; ConditionFailed once it settled."""
        pending.postpone(payment, due)

    def capture(self, payment: PaymentModel, at: str) -> None:
        """Mark a successful, uncaptured payment captured; ConditionFailed otherwise."""
        condition = (PaymentModel.status == "success") & (PaymentModel.captured == False)  # noqa: E712
        with storage_errors():
            payment.update(
                actions=[PaymentModel.captured.set(True), PaymentModel.updated_at.set(at)],
                condition=condition,
            )

    def list_for_merchant(self, merchant_id: str, limit: int, offset: int) -> list[PaymentModel]:
        """The merchant's payments, newest first, `offset` skipped."""
        with storage_errors():
            results = PaymentModel.by_merchant.query(
                merchant_id,
                scan_index_forward=False,
                limit=offset + limit,
                page_size=offset + limit,
            )
            return list(results)[offset:]
