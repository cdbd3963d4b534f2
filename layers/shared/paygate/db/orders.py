"""Order storage."""

from __future__ import annotations

from paygate.db.errors import storage_errors
from paygate.db.models import OrderModel


class OrderRepository:
    def create(self, order: OrderModel) -> OrderModel:
        """Insert a new order (ids are random: a clash is a bug, so it must not overwrite)."""
        with storage_errors():
            order.save(condition=OrderModel.id.does_not_exist())
        return order

    def get(self, order_id: str) -> OrderModel | None:
        """The order as last written (a consistent read: its status decides new payments)."""
        with storage_errors():
            try:
                return OrderModel.get(order_id, consistent_read=True)
            except OrderModel.DoesNotExist:
                return None
