"""Payment storage: creation and settlement are transactions with their outbox events."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from paygate.db.connection import shared_connection
from paygate.db.counters import CounterModel, stats_shard
from paygate.db.errors import retry_conflicts, storage_errors
from paygate.db.models import EventModel, PaymentModel


class PaymentRepository:
    def get(self, payment_id: str) -> PaymentModel | None:
        with storage_errors():
            try:
                return PaymentModel.get(payment_id, consistent_read=True)
            except PaymentModel.DoesNotExist:
                return None

    def create(self, payment: PaymentModel, events: list[EventModel]) -> None:
        """Insert the payment, its creation events and the merchant's count in one transaction."""
        absent = PaymentModel.id.does_not_exist()

        def write():
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.save(payment, condition=absent)
                for event in events:
                    tx.save(event, condition=EventModel.id.does_not_exist())
                tx.update(
                    stats_shard(payment.merchant_id), actions=[CounterModel.payments_total.add(1)]
                )

        retry_conflicts(write)

    def settle(
        self,
        payment: PaymentModel,
        status: str,
        at: str,
        events: list[EventModel],
        error: tuple[str, str] | None = None,
    ) -> None:
        """Move a `pending` payment to `status` with its events; ConditionFailed if not pending."""
        actions = [PaymentModel.status.set(status), PaymentModel.updated_at.set(at)]
        if error:
            actions += [
                PaymentModel.error_code.set(error[0]),
                PaymentModel.error_description.set(error[1]),
            ]
        counter_actions = []
        if status == "success":
            counter_actions = [
                CounterModel.payments_success.add(1),
                CounterModel.amount_success.add(payment.amount),
            ]

        def write():
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.update(payment, actions=actions, condition=PaymentModel.status == "pending")
                for event in events:
                    tx.save(event, condition=EventModel.id.does_not_exist())
                if counter_actions:
                    tx.update(stats_shard(payment.merchant_id), actions=counter_actions)

        retry_conflicts(write)

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
