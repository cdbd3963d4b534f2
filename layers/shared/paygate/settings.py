"""The one settings object: every environment variable Paygate reads is read and validated here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


class SettingsError(ValueError):
    """An environment variable holds a value Paygate cannot use."""


# HMAC-SHA256 keys shorter than its block output make dashboard tokens guessable offline.
MIN_TOKEN_SECRET_BYTES = 32


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, not {value}")
    return value


def _list(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one Paygate process (a Lambda function or a local service)."""

    merchants_table: str = "paygate-merchants"
    orders_table: str = "paygate-orders"
    payments_table: str = "paygate-payments"
    refunds_table: str = "paygate-refunds"
    events_table: str = "paygate-events"
    webhook_logs_table: str = "paygate-webhook-logs"
    webhook_endpoints_table: str = "paygate-webhook-endpoints"
    idempotency_table: str = "paygate-idempotency"
    counters_table: str = "paygate-counters"
    payment_queue_url: str = ""
    refund_queue_url: str = ""
    webhook_queue_url: str = ""
    payment_dlq_url: str = ""
    refund_dlq_url: str = ""
    webhook_dlq_url: str = ""
    worker_functions: tuple[str, ...] = ()
    worker_status_source: str = "event_source_mappings"
    test_mode: bool = False
    test_payment_success: bool = True
    test_processing_delay_ms: int = 1000
    webhook_retry_intervals_test: bool = False
    webhook_allow_private_targets: bool = False
    # An endpoint whose every delivery failed for this long is disabled (3 days, as Stripe).
    webhook_endpoint_disable_after_seconds: int = 3 * 24 * 3600
    test_merchant_webhook_url: str | None = None
    demo_login: bool = False
    local_mode: bool = False
    auth_token_secret: str = field(default="", repr=False)
    auth_token_ttl_seconds: int = 3600
    cors_allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 65536
    # Sign-ups accepted per client address per hour (0: no limit).
    signups_per_address_per_hour: int = 10
    # A payment or refund still `pending` this long after its bank time is re-queued by the
    # reconciler (None: 600 s, or the test bank time + 10 s in test mode).
    reconcile_after_seconds_setting: int | None = None

    @property
    def reconcile_after_seconds(self) -> int:
        """How long a record may stay `pending` before the reconciler re-queues its job. In
        production 10 minutes: past the bank's 10 s and the 5 receives × 60 s visibility after
        which a failing message is dead-lettered, so only a lost or dead-lettered job is late."""
        if self.reconcile_after_seconds_setting is not None:
            return self.reconcile_after_seconds_setting
        if self.test_mode:
            return -(-self.test_processing_delay_ms // 1000) + 10
        return 600

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read and validate the settings from `env` (the process environment by default)."""
        env = dict(os.environ if env is None else env)
        source = env.get("WORKER_STATUS_SOURCE", "event_source_mappings")
        if source not in ("event_source_mappings", "heartbeat"):
            raise SettingsError("WORKER_STATUS_SOURCE must be event_source_mappings or heartbeat")
        d = cls()
        settings = cls(
            merchants_table=env.get("MERCHANTS_TABLE", d.merchants_table),
            orders_table=env.get("ORDERS_TABLE", d.orders_table),
            payments_table=env.get("PAYMENTS_TABLE", d.payments_table),
            refunds_table=env.get("REFUNDS_TABLE", d.refunds_table),
            events_table=env.get("EVENTS_TABLE", d.events_table),
            webhook_logs_table=env.get("WEBHOOK_LOGS_TABLE", d.webhook_logs_table),
            webhook_endpoints_table=env.get("WEBHOOK_ENDPOINTS_TABLE", d.webhook_endpoints_table),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", d.idempotency_table),
            counters_table=env.get("COUNTERS_TABLE", d.counters_table),
            payment_queue_url=env.get("PAYMENT_QUEUE_URL", ""),
            refund_queue_url=env.get("REFUND_QUEUE_URL", ""),
            webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", ""),
            payment_dlq_url=env.get("PAYMENT_DLQ_URL", ""),
            refund_dlq_url=env.get("REFUND_DLQ_URL", ""),
            webhook_dlq_url=env.get("WEBHOOK_DLQ_URL", ""),
            worker_functions=_list(env, "WORKER_FUNCTIONS"),
            worker_status_source=source,
            test_mode=_flag(env, "TEST_MODE", False),
            test_payment_success=_flag(env, "TEST_PAYMENT_SUCCESS", True),
            test_processing_delay_ms=_int(env, "TEST_PROCESSING_DELAY", 1000),
            webhook_retry_intervals_test=_flag(env, "WEBHOOK_RETRY_INTERVALS_TEST", False),
            # Its own switch: neither TEST_MODE nor LOCAL_MODE implies it (CONTRACT §8).
            webhook_allow_private_targets=_flag(env, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False),
            webhook_endpoint_disable_after_seconds=_int(
                env,
                "WEBHOOK_ENDPOINT_DISABLE_AFTER_SECONDS",
                d.webhook_endpoint_disable_after_seconds,
                minimum=1,
            ),
            test_merchant_webhook_url=env.get("TEST_MERCHANT_WEBHOOK_URL") or None,
            demo_login=_flag(env, "DEMO_LOGIN", False),
            local_mode=_flag(env, "LOCAL_MODE", False),
            auth_token_secret=env.get("AUTH_TOKEN_SECRET", ""),
            auth_token_ttl_seconds=_int(env, "AUTH_TOKEN_TTL_SECONDS", 3600, minimum=60),
            cors_allowed_origins=_list(env, "CORS_ALLOWED_ORIGINS"),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 65536, minimum=1024),
            signups_per_address_per_hour=_int(
                env, "SIGNUPS_PER_ADDRESS_PER_HOUR", d.signups_per_address_per_hour
            ),
            reconcile_after_seconds_setting=(
                _int(env, "RECONCILE_AFTER_SECONDS", 0, minimum=1)
                if env.get("RECONCILE_AFTER_SECONDS")
                else None
            ),
        )
        settings.refuse_unsafe(signs_tokens="AUTH_TOKEN_SECRET" in env)
        return settings

    def refuse_unsafe(self, signs_tokens: bool) -> None:
        """Outside local mode, refuse what only a laptop may run with: demo sign-in, webhooks
        to private addresses and (for a process that signs tokens) a short token key.

        Raises SettingsError naming every problem, so a deploy fails at cold start, loudly,
        instead of serving forgeable tokens or open sign-in.
        """
        if self.local_mode:
            return
        problems = []
        if signs_tokens and len(self.auth_token_secret.encode()) < MIN_TOKEN_SECRET_BYTES:
            problems.append(
                f"AUTH_TOKEN_SECRET must be at least {MIN_TOKEN_SECRET_BYTES} bytes "
                "(it signs dashboard tokens)"
            )
        if self.demo_login:
            problems.append("DEMO_LOGIN=true lets anyone sign in as the seeded merchant")
        if self.webhook_allow_private_targets:
            problems.append("WEBHOOK_ALLOW_PRIVATE_TARGETS=true lets webhooks reach internal hosts")
        if problems:
            raise SettingsError(
                "Unsafe settings outside local mode (LOCAL_MODE=false): " + "; ".join(problems)
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
