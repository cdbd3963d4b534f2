"""Merchant storage: lookups by id, API key and email, and creation with unique email/API key."""

from __future__ import annotations

import time

from pynamodb.transactions import TransactWrite

from paygate import clock
from paygate.db.connection import shared_connection
from paygate.db.errors import ConditionFailed, storage_errors
from paygate.db.models import MerchantModel
from paygate.db.webhook_endpoints import (
    MERCHANT_API_SECRET,
    MERCHANT_WEBHOOK_SECRET,
    record_secrets,
    secrets_actions,
)
from paygate.signing import SigningSecrets


def api_secrets(merchant: MerchantModel) -> SigningSecrets:
    """The merchant's API secret and the rolled ones still promised (newest first)."""
    return record_secrets(merchant, MERCHANT_API_SECRET)


def _lock(kind: str, value: str) -> MerchantModel:
    return MerchantModel(id=f"{kind}#{value}")


class MerchantRepository:
    """Reads and writes merchants; uniqueness of email and API key is kept by lock rows.

    Lookups may accept a copy up to `max_age` seconds old: every API call authenticates and
    every settlement checks the webhook URL, and a merchant record changes rarely. Changes made
    through this process refresh its copies at once; other processes see them within max_age."""

    def __init__(self) -> None:
        self._copies: dict[str, tuple[float, MerchantModel]] = {}

    def _fresh(self, key: str, max_age: float) -> MerchantModel | None:
        copy = self._copies.get(key)
        if copy and max_age and time.monotonic() - copy[0] < max_age:
            return copy[1]
        return None

    def _keep(self, merchant: MerchantModel | None) -> MerchantModel | None:
        if merchant is not None:
            now = time.monotonic()
            self._copies[f"id:{merchant.id}"] = (now, merchant)
            self._copies[f"key:{merchant.api_key}"] = (now, merchant)
        return merchant

    def get(self, merchant_id: str, max_age: float = 0) -> MerchantModel | None:
        cached = self._fresh(f"id:{merchant_id}", max_age)
        if cached is not None:
            return cached
        with storage_errors():
            try:
                item = MerchantModel.get(merchant_id)
            except MerchantModel.DoesNotExist:
                return None
        return self._keep(item) if item.email else None

    def get_by_api_key(self, api_key: str, max_age: float = 0) -> MerchantModel | None:
        cached = self._fresh(f"key:{api_key}", max_age)
        if cached is not None:
            return cached
        with storage_errors():
            return self._keep(next(iter(MerchantModel.by_api_key.query(api_key, limit=1)), None))

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
        return self._keep(merchant)

    def change_credentials(
        self, merchant: MerchantModel, expected: dict, **fields
    ) -> MerchantModel:
        """Set `fields` (None removes) and move the token version on, in one write that holds
        only while the attributes in `expected` still have those values (so two concurrent
        rolls or password changes cannot both win). ConditionFailed otherwise."""
        condition = MerchantModel.id.exists()
        for name, value in expected.items():
            attribute = getattr(MerchantModel, name)
            condition &= attribute.does_not_exist() if value is None else attribute == value
        actions = [MerchantModel.token_version.add(1)] + [
            getattr(MerchantModel, name).remove()
            if value is None
            else getattr(MerchantModel, name).set(value)
            for name, value in fields.items()
        ]
        with storage_errors():
            merchant.update(actions=actions, condition=condition)
        return self._keep(merchant)

    def replace_api_secrets(self, merchant: MerchantModel, secrets: SigningSecrets) -> bool:
        """Store the rolled API `secrets` and revoke every dashboard token, if no credential
        changed since `merchant` was read (its token version, which every roll, password change
        and sign-out-everywhere moves on: so two rolls at once never drop a secret someone was
        given, and no secret is compared here); False when another change came first."""
        actions = [
            *secrets_actions(MerchantModel, secrets, MERCHANT_API_SECRET),
            MerchantModel.token_version.add(1),
            MerchantModel.updated_at.set(clock.iso()),
        ]
        condition = MerchantModel.id.exists() & (
            MerchantModel.token_version == int(merchant.token_version or 0)
        )
        return self._update_if(merchant, actions, condition)

    def replace_webhook_secrets(self, merchant: MerchantModel, secrets: SigningSecrets) -> bool:
        """Store `secrets` if no other rotation happened since `merchant` was read (so two
        rotations at once never keep a secret nobody was given); False when one did."""
        version = merchant.webhook_rotations
        actions = [
            *secrets_actions(MerchantModel, secrets, MERCHANT_WEBHOOK_SECRET),
            MerchantModel.webhook_rotations.set(int(version or 0) + 1),
            MerchantModel.updated_at.set(clock.iso()),
        ]
        condition = MerchantModel.id.exists() & (
            MerchantModel.webhook_rotations.does_not_exist()
            if version is None
            else MerchantModel.webhook_rotations == int(version)
        )
        return self._update_if(merchant, actions, condition)

    def _update_if(self, merchant: MerchantModel, actions: list, condition) -> bool:
        """Apply `actions` if `condition` holds (and keep the result); False when it did not."""
        try:
            with storage_errors():
                merchant.update(actions=actions, condition=condition)
        except ConditionFailed:
            return False
        self._keep(merchant)
        return True
