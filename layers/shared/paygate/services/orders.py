"""Orders: create and read, scoped to the merchant."""

from __future__ import annotations

from paygate import clock, ids
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, OrderModel
from paygate.db.orders import OrderRepository
from paygate.domain.orders import parse_order_request
from paygate.errors import NotFound
from paygate.services.views import order_public_view, order_view


class OrderService:
    def __init__(self, repo: OrderRepository, merchants: MerchantRepository) -> None:
        self.repo = repo
        self.merchants = merchants

    def create(self, merchant: MerchantModel, body: object) -> dict:
        request = parse_order_request(body)
        now = clock.iso()
        order = OrderModel(
            id=ids.new_id("order"),
            merchant_id=merchant.id,
            amount=request.amount,
            currency=request.currency,
            receipt=request.receipt,
            notes=request.notes,
            status="created",
            created_at=now,
            updated_at=now,
        )
        return order_view(self.repo.create(order))

    def find(self, order_id: str, merchant_id: str | None = None) -> OrderModel:
        """The order, if it exists (and belongs to `merchant_id` when given); else NotFound."""
        order = self.repo.get(order_id) if ids.is_id(order_id, "order") else None
        if order is None or (merchant_id is not None and order.merchant_id != merchant_id):
            raise NotFound("Order not found")
        return order

    def get(self, merchant: MerchantModel, order_id: str) -> dict:
        return order_view(self.find(order_id, merchant.id))

    def get_public(self, order_id: str) -> dict:
        order = self.find(order_id)
        merchant = self.merchants.get(order.merchant_id)
        return order_public_view(order, merchant.name if merchant else None)
