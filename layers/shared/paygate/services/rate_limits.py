"""Rate limits (CONTRACT §2 `RATE_LIMITED`): at most `limit` hits per subject per window.

Fixed windows aligned on the clock: simple, one DynamoDB write per hit, and a burst at a
window's edge can reach twice the limit for one window length, which is acceptable for abuse
limits (webhook tests, sign-in attempts). The answer carries the seconds until the window ends.

A hit is counted only while the window has room (a conditional write), so the counter never
exceeds the limit and N concurrent callers get at most `limit` admissions between them. A caller
that counts an attempt up front (sign-in, before the password is checked) can give it back with
`release` once it turned out not to be abuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from paygate.db.rate_limits import RateLimitRepository, window_key
from paygate.errors import RateLimited

# Counters outlive their window a little, so a slow clock never resurrects one.
EXPIRY_GRACE_SECONDS = 60


class RateLimiter:
    """`limit` hits per `window_seconds` for each subject (a merchant id, an email, an IP)."""

    def __init__(
        self,
        repo: RateLimitRepository,
        scope: str,
        limit: int,
        window_seconds: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.repo = repo
        self.scope = scope
        self.limit = limit
        self.window_seconds = window_seconds
        self._now = now

    def _window(self) -> tuple[int, int]:
        """(window start, seconds until it ends), never less than 1 s to wait."""
        now = int(self._now())
        start = now - now % self.window_seconds
        return start, max(1, start + self.window_seconds - now)

    def _refuse(self, retry_after: int, description: str | None) -> RateLimited:
        return RateLimited(description, retry_after=retry_after)

    def check(self, subject: str, description: str | None = None) -> None:
        """Raise RateLimited when `subject` already used its hits in this window (no write)."""
        start, retry_after = self._window()
        if self.repo.hits(window_key(self.scope, subject, start)) >= self.limit:
            raise self._refuse(retry_after, description)

    def hit(self, subject: str, description: str | None = None) -> str:
        """Count one hit for `subject`, or raise RateLimited (counting nothing) when its window
        is full. Returns the window's key, for `release`."""
        start, retry_after = self._window()
        expires_at = start + self.window_seconds + EXPIRY_GRACE_SECONDS
        key = window_key(self.scope, subject, start)
        if not self.repo.add_hit(key, expires_at, self.limit):
            raise self._refuse(retry_after, description)
        return key

    def release(self, key: str) -> None:
        """Give back a hit counted by `hit` (in the window it was counted in)."""
        self.repo.remove_hit(key)
