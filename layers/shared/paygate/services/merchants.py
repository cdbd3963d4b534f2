"""Merchants: the seeded test merchant, signup, login, authentication of API calls, and the
credentials a merchant can rotate or revoke (API secret, password, dashboard sessions)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from paygate import clock, ids, security
from paygate.db.merchants import MerchantRepository, api_secrets
from paygate.db.models import MerchantModel
from paygate.errors import AuthenticationFailed, BadRequest, Conflict, RateLimited
from paygate.services.rate_limits import RateLimiter
from paygate.settings import Settings
from paygate.signing import MAX_SIGNING_SECRETS, SigningSecrets

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
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # with fullmatch: `$` admits a final "\n"
MAX_EMAIL_LENGTH = 254
PASSWORD_LENGTH = (8, 1024)
# Failed sign-ins (wrong password, or wrong current password on a change) per account and per
# client address, in fixed windows of the shared rate limiter.
LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
# Sign-ups per client address are counted in windows of an hour (the limit is a setting).
SIGNUP_WINDOW_SECONDS = 3600
MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600
TOO_MANY_API_SECRETS = (
    f"At most {MAX_SIGNING_SECRETS} API secrets work at once (the current one and those still "
    "in their overlap); wait until an older one expires, or roll with "
    '"expire_previous_in": 0 to revoke every previous secret now'
)
ROLLED_SECRET = "This API secret was rolled; use the new one to manage credentials"
DEMO_CREDENTIALS = (
    "The seeded test merchant's credentials are fixed while demo sign-in (DEMO_LOGIN) is on"
)


@dataclass(frozen=True)
class LoginLimits:
    """The two limits on sign-in attempts: per account (email) and per client address.

    An attempt is counted BEFORE its password is checked, and given back when the password was
    right: concurrent guesses cannot all pass a check made before any of them failed, so at most
    LOGIN_FAILURES guesses per window ever reach the password check, while a person who signs in
    correctly uses none of the budget. Attempts still being checked hold their place meanwhile."""

    account: RateLimiter
    address: RateLimiter
    description: str = "Too many failed sign-in attempts; try again later"

    def _limits(self, email: str, address: str | None) -> tuple[tuple[RateLimiter, str], ...]:
        return ((self.account, email), (self.address, address or "unknown"))

    def check(self, email: str, address: str | None) -> None:
        """RateLimited when either limit is used up (reads only)."""
        for limiter, subject in self._limits(email, address):
            limiter.check(subject, self.description)

    def reserve(self, email: str, address: str | None) -> list[tuple[RateLimiter, str]]:
        """Count one attempt against both limits; RateLimited (and nothing counted) when either
        is used up. Returns what to `forgive` if the attempt succeeds."""
        taken: list[tuple[RateLimiter, str]] = []
        try:
            for limiter, subject in self._limits(email, address):
                taken.append((limiter, limiter.hit(subject, self.description)))
        except RateLimited:
            self.forgive(taken)
            raise
        return taken

    def forgive(self, taken: list[tuple[RateLimiter, str]]) -> None:
        """Give back the attempts of `reserve` (a right password, or a check that never ran)."""
        for limiter, key in taken:
            limiter.release(key)

    @contextmanager
    def attempt(self, email: str, address: str | None) -> Iterator[None]:
        """Reserve an attempt around a password check: it stays counted only when the check
        raises AuthenticationFailed or BadRequest (a wrong password)."""
        taken = self.reserve(email, address)
        try:
            yield
        except (AuthenticationFailed, BadRequest):
            raise
        except BaseException:
            self.forgive(taken)
            raise
        self.forgive(taken)


def _iso(epoch: int | float | None) -> str | None:
    return None if epoch is None else clock.iso(datetime.fromtimestamp(int(epoch), UTC))


def _password(value: object, name: str) -> str:
    low, high = PASSWORD_LENGTH
    if not isinstance(value, str) or len(value) < low:
        raise BadRequest(f"{name} must be at least {low} characters")
    if len(value) > high:
        raise BadRequest(f"{name} must be at most {high} characters")
    return value


class MerchantService:
    def __init__(
        self,
        repo: MerchantRepository,
        settings: Settings,
        login_limits: LoginLimits,
        signup_limit: RateLimiter | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.login_limits = login_limits
        self.signup_limit = signup_limit

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

    def _secret_matches(self, merchant: MerchantModel | None, offered: str) -> tuple[bool, bool]:
        """(matches the current secret, matches a rolled one still in its overlap)."""
        # Compare even when the key is unknown so timing does not reveal which keys exist, and
        # compare every rolled secret (no early exit).
        secrets = api_secrets(merchant) if merchant else SigningSecrets("-" * 32)
        current, *rolled = secrets.in_use(clock.unix())
        matches = [security.same(secret, offered) for secret in rolled]
        return security.same(current, offered) and merchant is not None, any(matches)

    def authenticate_api(
        self, api_key: str | None, api_secret: str | None, allow_rolled: bool = True
    ) -> MerchantModel:
        """The merchant owning this key pair; AuthenticationFailed otherwise (constant time).

        A key not shaped like the keys Paygate issues, or an oversized secret, is refused
        without reading anything. A secret rolled with an overlap is accepted until it expires,
        except with `allow_rolled=False` (credential management)."""
        offered = api_secret or ""
        readable = security.api_key_has_shape(api_key) and (
            len(offered) <= security.MAX_API_SECRET_LENGTH
        )
        merchant = self.repo.get_by_api_key(api_key, CREDENTIALS_MAX_AGE) if readable else None
        current, rolled = self._secret_matches(merchant, offered)
        if merchant is not None and not (current or rolled):
            # This copy may predate a roll made by another process: read it fresh, once.
            merchant = self.repo.get_by_api_key(api_key)
            current, rolled = self._secret_matches(merchant, offered)
        if current:
            return merchant
        if rolled and allow_rolled:
            return merchant
        raise AuthenticationFailed(ROLLED_SECRET if rolled else None)

    def authenticate_token(self, token: str) -> MerchantModel:
        """The merchant of a valid dashboard token whose version is still the merchant's."""
        claims = security.verify_token(token, self.settings.auth_token_secret)
        merchant = self.repo.get(claims[0]) if claims else None
        issued = claims[1] if claims else None
        current = int(merchant.token_version or 0) if merchant else None
        if merchant is None or issued != current:
            raise AuthenticationFailed("Invalid or expired token")
        return merchant

    def issue_token(self, merchant: MerchantModel) -> str:
        """A dashboard token for the merchant's current token version."""
        return security.sign_token(
            merchant.id,
            int(merchant.token_version or 0),
            self.settings.auth_token_secret,
            self.settings.auth_token_ttl_seconds,
        )

    def _demo_merchant(self, merchant: MerchantModel | None) -> bool:
        return bool(self.settings.demo_login and merchant is not None and merchant.seeded)

    def login(self, body: object, client_address: str | None = None) -> tuple[str, MerchantModel]:
        """(token, merchant) for valid email and password; demo mode admits the test merchant
        with any non-empty password.

        Every attempt that reaches the password check costs one scrypt, whether or not the
        email exists, and is counted against the email and the client address before it runs
        (given back when the password was right): after LOGIN_FAILURES failures in a window,
        both answer RATE_LIMITED until the window ends, however many attempts ran at once."""
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            raise BadRequest("email and password are required")
        email = email.strip().lower()
        if len(email) > MAX_EMAIL_LENGTH or len(password) > PASSWORD_LENGTH[1]:
            raise AuthenticationFailed("Invalid email or password")
        self.login_limits.check(email, client_address)
        merchant = self.repo.get_by_email(email)
        if self._demo_merchant(merchant):
            return self.issue_token(merchant), merchant
        stored = merchant.password_hash if merchant else None
        with self.login_limits.attempt(email, client_address):
            if not security.verify_password(password, stored) or merchant is None:
                raise AuthenticationFailed("Invalid email or password")
        return self.issue_token(merchant), merchant

    def roll_api_secret(self, merchant: MerchantModel, body: object) -> tuple[dict, MerchantModel]:
        """A new API secret, returned once. The one it replaces stays valid for API calls for
        `expire_previous_in` seconds (0, the default, ends it and every earlier rolled secret at
        once; at most 7 days), and earlier rolled secrets until their own expiry: the rule of
        the webhook secrets (`SigningSecrets.rolled`, at most MAX_SIGNING_SECRETS at once).
        Dashboard tokens issued before are revoked, since they could read the new secret. A
        concurrent roll makes this one read the merchant again and recompute (nothing lost)."""
        overlap = _overlap(body)
        for _ in range(3):
            merchant = self.repo.get(merchant.id) or merchant
            if self._demo_merchant(merchant):
                raise BadRequest(DEMO_CREDENTIALS)
            now = clock.unix()
            rolled = api_secrets(merchant).rolled(
                security.new_api_secret(), overlap, now, TOO_MANY_API_SECRETS
            )
            if self.repo.replace_api_secrets(merchant, rolled):
                break
        else:
            raise Conflict("The API secret changed while rolling it; try again")
        view = {
            "api_key": merchant.api_key,
            "api_secret": rolled.current,
            "previous_secret_expires_at": _iso(now + overlap if overlap else None),
        }
        return view, merchant

    def change_password(
        self, merchant: MerchantModel, body: object, client_address: str | None = None
    ) -> tuple[str, MerchantModel]:
        """Set a new password after checking the current one (failures count as failed
        sign-ins); every other session ends. Returns a fresh token for the caller."""
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        current = body.get("current_password")
        if not isinstance(current, str) or not current:
            raise BadRequest("current_password is required")
        new = _password(body.get("new_password"), "new_password")
        merchant = self.repo.get(merchant.id) or merchant
        if self._demo_merchant(merchant):
            raise BadRequest(DEMO_CREDENTIALS)
        with self.login_limits.attempt(merchant.email, client_address):
            if len(current) > PASSWORD_LENGTH[1] or not security.verify_password(
                current, merchant.password_hash
            ):
                raise BadRequest("current_password is incorrect")
        merchant = self.repo.change_credentials(
            merchant,
            {"password_hash": merchant.password_hash},
            password_hash=security.hash_password(new),
            updated_at=clock.iso(),
        )
        return self.issue_token(merchant), merchant

    def logout_everywhere(self, merchant: MerchantModel) -> MerchantModel:
        """Revoke every dashboard token of the merchant (this one too)."""
        return self.repo.change_credentials(merchant, {}, updated_at=clock.iso())

    def signup(self, body: object, client_address: str | None = None) -> MerchantModel:
        """A new merchant with fresh keys; BadRequest for invalid fields or a taken email.
        Valid sign-ups count against the client address's hourly limit (each costs a scrypt
        and an account): RATE_LIMITED beyond it."""
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        name, email, password = body.get("name"), body.get("email"), body.get("password")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise BadRequest("name is required")
        if not isinstance(email, str) or not _EMAIL.fullmatch(email) or len(email) > 254:
            raise BadRequest("email is invalid")
        password = _password(password, "password")
        if self.signup_limit is not None and self.signup_limit.limit > 0:
            self.signup_limit.hit(
                client_address or "unknown",
                "Too many sign-ups from this address; try again later",
            )
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


def _overlap(body: object) -> int:
    """`expire_previous_in` of a roll request: whole seconds, 0 to 7 days, default 0."""
    if body is None:
        return 0
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    value = body.get("expire_previous_in", 0)
    if type(value) is not int or not 0 <= value <= MAX_SECRET_OVERLAP_SECONDS:
        raise BadRequest(
            f"expire_previous_in must be an integer from 0 to {MAX_SECRET_OVERLAP_SECONDS}"
        )
    return value
