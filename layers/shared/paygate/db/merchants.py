"""Merchant storage: lookups by id, API key and email, and creation with unique email/API key."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from paygate.db.connection import shared_connection
from paygate.db.errors import ConditionFailed, storage_errors
from paygate.db.models import MerchantModel


def _lock(kind: str, value: str) -> MerchantModel:
    return MerchantModel(id=f"{kind}#{value}")


class MerchantRepository:
    """Reads and writes merchants; uniqueness of email and API key is kept by lock rows."""

    def get(self, merchant_id: str) -> MerchantModel | None:
        with storage_errors():
            try:
                item = MerchantModel.get(merchant_id)
            except MerchantModel.DoesNotExist:
                return None
        return item if item.email else None

    def get_by_api_key(self, api_key: str) -> MerchantModel | None:
        with storage_errors():
            return next(iter(MerchantModel.by_api_key.query(api_key, limit=1)), None)

    def get_by_email(self, email: str) -> MerchantModel | None:
        with storage_errors():
            return next(iter(MerchantModel.by_email.query(email, limit=1)), None)

    def create(self, merchant: MerchantModel) -> bool:
        """Create the merchant with its email and API-key locks; False if any already exists."""
        absent = MerchantModel.id.does_not_exist()
        try:
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.save(merchant, condition=absent)
                tx.save(_lock("email", merchant.email), condition=absent)
                tx.save(_lock("apikey", merchant.api_key), condition=absent)
        except ConditionFailed:
            return False
        return True

    def update_fields(self, merchant: MerchantModel, **fields) -> MerchantModel:
        """Set the given attributes (None removes) and return the fresh merchant."""
        actions = [
            getattr(MerchantModel, name).remove()
            if value is None
            else getattr(MerchantModel, name).set(value)
            for name, value in fields.items()
        ]
        with storage_errors():
            merchant.update(actions=actions, condition=MerchantModel.id.exists())
        return merchant
