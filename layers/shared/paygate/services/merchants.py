"""Merchants: the seeded test merchant, signup, login, and authentication of API calls."""

from __future__ import annotations

import re

from paygate import clock, ids, security
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel
from paygate.errors import AuthenticationFailed, BadRequest
from paygate.settings import Settings

TEST_MERCHANT = {
    "id": "550e8400-e29b-41d4-a716-446655440000",
    "name": "Test Merchant",
    "email": "test@example.com",
    "api_key": "key_test_abc123",
    "api_secret": "secret_test_xyz789",
    "webhook_secret": "whsec_test_abc123",
}
# How old a cached copy of a merchant may be when authenticating an API call (see
# MerchantRepository): saves a DynamoDB query on every request.
CREDENTIALS_MAX_AGE = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MerchantService:
    def __init__(self, repo: MerchantRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    def seed_test_merchant(self) -> bool:
        """Create the test merchant of CONTRACT §1 if it is missing; True if it was created. A
        merchant kept from an earlier run (local data persists) takes the configured
        TEST_MERCHANT_WEBHOOK_URL, when one is set."""
        now = clock.iso()
        url = self.settings.test_merchant_webhook_url
        merchant = MerchantModel(
            **TEST_MERCHANT, webhook_url=url, seeded=True, created_at=now, updated_at=now
        )
        if self.repo.create(merchant):
            return True
        existing = self.repo.get(TEST_MERCHANT["id"])
        if url and existing is not None and existing.webhook_url != url:
            self.repo.update_fields(existing, webhook_url=url, updated_at=now)
        return False

    def test_merchant(self) -> MerchantModel:
        merchant = self.repo.get(TEST_MERCHANT["id"])
        if merchant is None:
            raise BadRequest("The test merchant has not been seeded")
        return merchant

    def authenticate_api(self, api_key: str | None, api_secret: str | None) -> MerchantModel:
        """The merchant owning this key pair; AuthenticationFailed otherwise (constant time)."""
        merchant = self.repo.get_by_api_key(api_key, CREDENTIALS_MAX_AGE) if api_key else None
        stored = merchant.api_secret if merchant else None
        # Compare even when the key is unknown so timing does not reveal which keys exist.
        if not security.same(stored or "-" * 32, api_secret or "") or merchant is None:
            raise AuthenticationFailed()
        return merchant

    def authenticate_token(self, token: str) -> MerchantModel:
        merchant_id = security.verify_token(token, self.settings.auth_token_secret)
        merchant = self.repo.get(merchant_id) if merchant_id else None
        if merchant is None:
            raise AuthenticationFailed("Invalid or expired token")
        return merchant

    def login(self, body: object) -> tuple[str, MerchantModel]:
        """(token, merchant) for valid email and password; demo mode admits the test merchant
        with any non-empty password."""
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            raise BadRequest("email and password are required")
        merchant = self.repo.get_by_email(email.strip().lower())
        demo = self.settings.demo_login and merchant is not None and merchant.seeded
        if merchant is None or not (
            demo or security.verify_password(password, merchant.password_hash)
        ):
            raise AuthenticationFailed("Invalid email or password")
        token = security.sign_token(
            merchant.id, self.settings.auth_token_secret, self.settings.auth_token_ttl_seconds
        )
        return token, merchant

    def signup(self, body: object) -> MerchantModel:
        """A new merchant with fresh keys; BadRequest for invalid fields or a taken email."""
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        name, email, password = body.get("name"), body.get("email"), body.get("password")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise BadRequest("name is required")
        if not isinstance(email, str) or not _EMAIL.match(email) or len(email) > 254:
            raise BadRequest("email is invalid")
        if not isinstance(password, str) or len(password) < 8:
            raise BadRequest("password must be at least 8 characters")
        now = clock.iso()
        merchant = MerchantModel(
            id=ids.new_uuid(),
            name=name.strip(),
            email=email.strip().lower(),
            api_key=security.new_api_key(),
            api_secret=security.new_api_secret(),
            webhook_secret=security.new_webhook_secret(),
            password_hash=security.hash_password(password),
            created_at=now,
            updated_at=now,
        )
        if not self.repo.create(merchant):
            raise BadRequest("Email is already registered")
        return merchant
