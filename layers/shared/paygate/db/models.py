"""PynamoDB models. Table names are bound at import from the settings (set the env first)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from paygate.settings import get_settings

_settings = get_settings()


class _Meta:
    # Botocore's default pool of 10 starves a threaded API server under load.
    max_pool_connections = 64
    max_retry_attempts = 3


class PreviousSecretMap(MapAttribute):
    """A rolled secret (webhook or API) still in use until `expires_at` (unix seconds)."""

    secret = UnicodeAttribute()
    expires_at = NumberAttribute()


class MerchantByApiKey(GlobalSecondaryIndex):
    class Meta:
        index_name = "api_key-index"
        projection = AllProjection()

    api_key = UnicodeAttribute(hash_key=True)


class MerchantByEmail(GlobalSecondaryIndex):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class MerchantModel(Model):
    """A merchant. Rows with id `email#…`/`apikey#…` are uniqueness locks (no other fields)."""

    class Meta(_Meta):
        table_name = _settings.merchants_table

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    api_key = UnicodeAttribute(null=True)
    api_secret = UnicodeAttribute(null=True)
    webhook_secret = UnicodeAttribute(null=True)
    # Rotations' overlaps: every replaced secret still signing, newest first, each with the
    # expiry its roll promised. The single-secret pair before it is still read (older records)
    # and removed by the next roll.
    webhook_previous_secrets = ListAttribute(of=PreviousSecretMap, null=True)
    webhook_previous_secret = UnicodeAttribute(null=True)
    webhook_previous_secret_expires_at = NumberAttribute(null=True)
    webhook_rotations = NumberAttribute(null=True)  # how many rolls: their optimistic lock
    webhook_url = UnicodeAttribute(null=True)
    # The rest of the default endpoint (the legacy URL and secret): what it takes, its
    # description, and its health (see WebhookEndpointModel for the same fields).
    webhook_enabled_events = ListAttribute(of=UnicodeAttribute, null=True)  # absent: every event
    webhook_description = UnicodeAttribute(null=True)
    webhook_created_at = UnicodeAttribute(null=True)
    webhook_status = UnicodeAttribute(null=True)  # absent: enabled
    webhook_failing_since = NumberAttribute(null=True)
    webhook_missed_since = UnicodeAttribute(null=True)
    webhook_disabled_at = UnicodeAttribute(null=True)
    webhook_disabled_reason = UnicodeAttribute(null=True)
    # The other endpoints (WebhookEndpointModel rows): how many (a conditional counter within
    # the limit), every event one of them takes (read from the cached merchant when an event is
    # raised), and the version every change of the set moves on (see db.webhook_endpoints).
    webhook_endpoint_count = NumberAttribute(null=True)
    webhook_subscriptions = UnicodeSetAttribute(null=True)
    webhook_endpoints_version = NumberAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    seeded = BooleanAttribute(default=False)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # Credentials rotation: every rolled API secret stays valid for API calls until the expiry
    # its roll promised (as the webhook secrets above; the single pair is read from older
    # records and removed by the next roll); dashboard tokens carry `token_version` and die
    # when it moves on.
    previous_api_secrets = ListAttribute(of=PreviousSecretMap, null=True)
    previous_api_secret = UnicodeAttribute(null=True)
    previous_api_secret_expires_at = NumberAttribute(null=True)
    token_version = NumberAttribute(default=0)
    by_api_key = MerchantByApiKey()
    by_email = MerchantByEmail()


class OrderModel(Model):
    """An order: `created` → `attempted` → `paid` (CONTRACT §5).

    `pending_payment_id` names the one payment of the order that is still `pending`: it is set in
    the transaction that creates that payment (on the condition that it is absent and the order
    is not `paid`) and removed in the transaction that settles it, so an order never has two
    payments in progress nor a payment after it was paid."""

    class Meta(_Meta):
        table_name = _settings.orders_table

    id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    receipt = UnicodeAttribute(null=True)
    notes = JSONAttribute(default=dict)
    status = UnicodeAttribute(default="created")
    attempts = NumberAttribute(default=0)
    amount_paid = NumberAttribute(default=0)
    pending_payment_id = UnicodeAttribute(null=True)
    paid_payment_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


# Spreads pending records over a few index partitions (as DISPATCH_SHARDS does for the outbox).
PENDING_SHARDS = 4


def pending_index() -> GlobalSecondaryIndex:
    """Sparse index of records still `pending`, by when the reconciler should look at them (a
    class per model: PynamoDB binds an index class to the model it is declared on)."""

    class PendingIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = "pending-index"
            projection = AllProjection()

        pending_shard = UnicodeAttribute(hash_key=True)
        pending_due = UnicodeAttribute(range_key=True)

    return PendingIndex()


class PaymentsByMerchant(GlobalSecondaryIndex):
    class Meta:
        index_name = "merchant-created-index"
        projection = AllProjection()

    merchant_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    class Meta(_Meta):
        table_name = _settings.payments_table

    id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    method = UnicodeAttribute()
    vpa = UnicodeAttribute(null=True)
    card_network = UnicodeAttribute(null=True)
    card_last4 = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    captured = BooleanAttribute(default=False)
    error_code = UnicodeAttribute(null=True)
    error_description = UnicodeAttribute(null=True)
    forced_outcome = UnicodeAttribute(null=True)
    refunded_amount = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Set while `pending` (removed by the settle): the reconciler's sparse index.
    pending_shard = UnicodeAttribute(null=True)
    pending_due = UnicodeAttribute(null=True)
    by_merchant = PaymentsByMerchant()
    to_reconcile = pending_index()


class RefundsByPayment(GlobalSecondaryIndex):
    class Meta:
        index_name = "payment-created-index"
        projection = AllProjection()

    payment_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class RefundModel(Model):
    class Meta(_Meta):
        table_name = _settings.refunds_table

    id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    amount = NumberAttribute()
    reason = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    processed_at = UnicodeAttribute(null=True)
    pending_shard = UnicodeAttribute(null=True)
    pending_due = UnicodeAttribute(null=True)
    by_payment = RefundsByPayment()
    to_reconcile = pending_index()


# Spreads outbox entries over a few index partitions, so the relay's index has no hot key.
DISPATCH_SHARDS = 4


class EventsToDispatch(GlobalSecondaryIndex):
    """Sparse index of events not yet handed to the webhook pipeline (the outbox relay's view)."""

    class Meta:
        index_name = "dispatch-index"
        projection = AllProjection()

    dispatch_shard = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class EventsByMerchant(GlobalSecondaryIndex):
    """A merchant's events, newest first by (created_at, id): the events API's list."""

    class Meta:
        index_name = "merchant-list-index"
        projection = AllProjection()

    merchant_id = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(range_key=True)


class EventsByMerchantAndType(GlobalSecondaryIndex):
    """The same list for one event type (`merchant_type` = "<merchant id>#<event name>")."""

    class Meta:
        index_name = "merchant-type-list-index"
        projection = AllProjection()

    merchant_type = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(range_key=True)


class EventModel(Model):
    """An event: the exact webhook body, written with the change it describes (the outbox) and
    kept 30 days (`expires_at`, DynamoDB TTL) for the events API, delivered or not.

    `dispatch_shard` is set while the event still has to reach the webhook pipeline (only for
    merchants with a webhook URL); the webhook worker removes it when it creates the log."""

    class Meta(_Meta):
        table_name = _settings.events_table

    id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    event = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    dispatch_shard = UnicodeAttribute(null=True)
    # Set when the fan-out is done: the endpoints that got a log (in the same write that takes
    # the event out of the outbox).
    dispatched_to = ListAttribute(of=UnicodeAttribute, null=True)
    # Only for an event meant for one endpoint (a test delivery): the fan-out goes there only.
    endpoint_id = UnicodeAttribute(null=True)
    list_key = UnicodeAttribute(null=True)
    merchant_type = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    to_dispatch = EventsToDispatch()
    by_merchant = EventsByMerchant()
    by_merchant_and_type = EventsByMerchantAndType()


class LogsByMerchant(GlobalSecondaryIndex):
    class Meta:
        index_name = "merchant-created-index"
        projection = AllProjection()

    merchant_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


# Spreads pending logs over a few index partitions (the relay's overdue query), as for events.
RETRY_SHARDS = 4


class PendingLogsByDueTime(GlobalSecondaryIndex):
    """Sparse index of pending logs by when their next attempt is due (the relay's view of
    attempts whose message may have been lost or dead-lettered)."""

    class Meta:
        index_name = "retry-index"
        projection = AllProjection()

    retry_shard = UnicodeAttribute(hash_key=True)
    next_retry_epoch = NumberAttribute(range_key=True)


class FailedLogsByEndpoint(GlobalSecondaryIndex):
    """Sparse index of failed logs, per endpoint (`failed_key` = "<merchant id>#<endpoint id>")
    by creation time: what a bulk replay reads."""

    class Meta:
        index_name = "failed-index"
        projection = AllProjection()

    failed_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class WebhookLogModel(Model):
    """One event's delivery to one endpoint: every attempt updates it conditionally."""

    class Meta(_Meta):
        table_name = _settings.webhook_logs_table

    id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    # Absent on logs written before endpoints existed: those went to the default endpoint.
    endpoint_id = UnicodeAttribute(null=True)
    event = UnicodeAttribute()
    payload = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    attempts = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    last_attempt_at = UnicodeAttribute(null=True)
    next_retry_at = UnicodeAttribute(null=True)
    next_retry_epoch = NumberAttribute(null=True)
    response_code = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    retry_shard = UnicodeAttribute(null=True)  # set while pending: in `retry-index`
    failed_key = UnicodeAttribute(null=True)  # set while failed: in `failed-index`
    by_merchant = LogsByMerchant()
    pending_by_due_time = PendingLogsByDueTime()
    failed_by_endpoint = FailedLogsByEndpoint()


class WebhookEndpointModel(Model):
    """A webhook endpoint added through the endpoints API (the default one lives on the
    merchant record). Keyed by merchant, so another merchant's id is simply not found."""

    class Meta(_Meta):
        table_name = _settings.webhook_endpoints_table

    merchant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute()
    enabled_events = ListAttribute(of=UnicodeAttribute)
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="enabled")
    secret = UnicodeAttribute()
    previous_secrets = ListAttribute(of=PreviousSecretMap, null=True)  # as on MerchantModel
    previous_secret = UnicodeAttribute(null=True)  # the older single pair, read only
    previous_secret_expires_at = NumberAttribute(null=True)
    rotations = NumberAttribute(default=0)  # how many rolls: their optimistic lock
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    failing_since = NumberAttribute(null=True)  # first failure since the last success (unix s)
    # created_at of the oldest delivery missed since then (failed in the streak, or ended
    # unsent while disabled): where the replay offered on re-enable starts.
    missed_since = UnicodeAttribute(null=True)
    disabled_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)


class CounterModel(Model):
    """Counters kept on write: merchant stats shards (`stats#<merchant>#<n>`: every currency's
    counts and the set of currencies used; `stats#<merchant>#<CUR>#<n>`: one currency's counts
    and amount), worker job counts and heartbeats."""

    class Meta(_Meta):
        table_name = _settings.counters_table

    pk = UnicodeAttribute(hash_key=True)
    payments_total = NumberAttribute(default=0)
    payments_success = NumberAttribute(default=0)
    amount_success = NumberAttribute(default=0)
    webhook_logs = NumberAttribute(default=0)
    currencies = UnicodeSetAttribute(null=True)
    completed = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    heartbeat_at = NumberAttribute(null=True)
    hits = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class EndpointGateModel(Model):
    """Per-endpoint fairness (`gate#<host>:<port>`, in the counters table): the places
    taken by attempts in flight (`"<expiry>:<token>"`, a set), the endpoint's streak of attempts
    that ran into the deadline, and its circuit breaker (open until `open_until`, for
    `open_for` seconds the last time). Expires (TTL) once the endpoint has been quiet a while."""

    class Meta(_Meta):
        table_name = _settings.counters_table

    pk = UnicodeAttribute(hash_key=True)
    leases = UnicodeSetAttribute(null=True)
    timeouts = NumberAttribute(null=True)
    open_until = NumberAttribute(null=True)
    open_for = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
