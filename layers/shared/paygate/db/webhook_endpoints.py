"""Webhook endpoint storage: rows of the endpoints table, and the default endpoint's fields on
the merchant record, behind one `Endpoint` shape.

The merchant record also keeps, for the endpoints of the table, how many there are
(`webhook_endpoint_count`, a conditional counter: a new endpoint, or a new default one, is
written only while the count, the default endpoint included, stays within the limit, in the
same transaction) and every event one of them takes (`webhook_subscriptions`, a string set that
a new endpoint adds to). A change that can shrink that summary (other events, a delete) recomputes
it from the rows it read, conditioned on `webhook_endpoints_version`, which every change of the
set moves on: a change in between sends it round again, so the summary never loses an update.
Health changes (failing streak, automatic disabling) are conditional writes of the endpoint
alone: they do not change what it subscribes to.
"""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from paygate.db.connection import shared_connection
from paygate.db.errors import ConditionFailed, storage_errors
from paygate.db.models import (
    EventModel,
    MerchantModel,
    PreviousSecretMap,
    WebhookEndpointModel,
)
from paygate.domain.webhook_endpoints import (
    ALL_EVENTS,
    DISABLED_FAILING,
    Endpoint,
    default_endpoint_id,
)
from paygate.signing import PreviousSecret, SigningSecrets

# The default endpoint's fields, as attributes of the merchant record.
DEFAULT_ATTRIBUTES = {
    "url": "webhook_url",
    "enabled_events": "webhook_enabled_events",
    "description": "webhook_description",
    "created_at": "webhook_created_at",
    "status": "webhook_status",
    "failing_since": "webhook_failing_since",
    "missed_since": "webhook_missed_since",
    "disabled_at": "webhook_disabled_at",
    "disabled_reason": "webhook_disabled_reason",
    "updated_at": "updated_at",
}
# What a default endpoint starts without (and loses when its URL is cleared).
DEFAULT_STATE = (
    "enabled_events",
    "description",
    "status",
    "failing_since",
    "missed_since",
    "disabled_at",
    "disabled_reason",
)


def _number(value) -> float | None:
    return float(value) if value is not None else None


def stored_secrets(current, previous, legacy_secret, legacy_expires_at) -> SigningSecrets:
    """Signing secrets from a record's attributes: its list of previous secrets (newest first)
    and, on records rolled before that list existed, the single previous secret."""
    kept = tuple(PreviousSecret(p.secret, float(p.expires_at)) for p in previous or ())
    if legacy_secret and legacy_expires_at is not None:
        kept += (PreviousSecret(legacy_secret, float(legacy_expires_at)),)
    return SigningSecrets(current or "", kept)


# Where a record keeps rolled secrets: (current, list of previous, and the older single
# previous secret and its expiry), on an endpoint row, and for the merchant's webhook and API
# secrets on the merchant record.
ENDPOINT_SECRET = ("secret", "previous_secrets", "previous_secret", "previous_secret_expires_at")
MERCHANT_WEBHOOK_SECRET = tuple("webhook_" + name for name in ENDPOINT_SECRET)
MERCHANT_API_SECRET = (
    "api_secret",
    "previous_api_secrets",
    "previous_api_secret",
    "previous_api_secret_expires_at",
)


def secrets_actions(model, secrets: SigningSecrets, names: tuple[str, ...] = ENDPOINT_SECRET):
    """Update actions storing `secrets` in the attributes `names` of a row, dropping the older
    single previous secret."""
    current, previous_list, legacy_secret, legacy_expires_at = names
    previous = [
        PreviousSecretMap(secret=p.secret, expires_at=p.expires_at) for p in secrets.previous
    ]
    return [
        getattr(model, current).set(secrets.current),
        _set_or_remove(getattr(model, previous_list), previous or None),
        getattr(model, legacy_secret).remove(),
        getattr(model, legacy_expires_at).remove(),
    ]


def record_secrets(row, names: tuple[str, ...]) -> SigningSecrets:
    """The rolled secrets a row keeps in the attributes `names` (see `stored_secrets`)."""
    return stored_secrets(*(getattr(row, name) for name in names))


def merchant_secrets(merchant: MerchantModel) -> SigningSecrets:
    """The secrets of the merchant's own webhook secret (the default endpoint's), which exist
    with or without a URL."""
    return record_secrets(merchant, MERCHANT_WEBHOOK_SECRET)


def default_endpoint(merchant: MerchantModel) -> Endpoint | None:
    """The merchant's default endpoint (its webhook URL and secret); None without a URL."""
    if not merchant.webhook_url:
        return None
    return Endpoint(
        id=default_endpoint_id(merchant.id),
        merchant_id=merchant.id,
        url=merchant.webhook_url,
        enabled_events=tuple(merchant.webhook_enabled_events or (ALL_EVENTS,)),
        description=merchant.webhook_description,
        status=merchant.webhook_status or "enabled",
        secrets=merchant_secrets(merchant),
        rotations=int(merchant.webhook_rotations or 0),
        created_at=merchant.webhook_created_at or merchant.created_at,
        updated_at=merchant.updated_at,
        failing_since=_number(merchant.webhook_failing_since),
        missed_since=merchant.webhook_missed_since,
        disabled_at=merchant.webhook_disabled_at,
        disabled_reason=merchant.webhook_disabled_reason,
        is_default=True,
    )


def _endpoint(row: WebhookEndpointModel) -> Endpoint:
    return Endpoint(
        id=row.id,
        merchant_id=row.merchant_id,
        url=row.url,
        enabled_events=tuple(row.enabled_events or ()),
        description=row.description,
        status=row.status or "enabled",
        secrets=record_secrets(row, ENDPOINT_SECRET),
        rotations=int(row.rotations or 0),
        created_at=row.created_at,
        updated_at=row.updated_at,
        failing_since=_number(row.failing_since),
        missed_since=row.missed_since,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
    )


def _set_or_remove(attribute, value):
    return attribute.remove() if value is None else attribute.set(value)


def _version_condition(version: int | None):
    if version is None:
        return MerchantModel.id.exists() & MerchantModel.webhook_endpoints_version.does_not_exist()
    return MerchantModel.webhook_endpoints_version == version


def _summary_actions(version: int | None, subscriptions: tuple) -> list:
    """Set the merchant's summary of subscribed events, moving the version on."""
    return [
        MerchantModel.webhook_endpoints_version.set(int(version or 0) + 1),
        _set_or_remove(MerchantModel.webhook_subscriptions, set(subscriptions) or None),
    ]


def _room_for_one(limit: int):
    """The merchant has room for one more endpoint: fewer than `limit` in all, the default
    endpoint (its webhook URL) included. Comparisons with values computed here only."""
    count = MerchantModel.webhook_endpoint_count
    below = lambda n: count.does_not_exist() | (count < n)  # noqa: E731 - a tiny local helper
    return (MerchantModel.webhook_url.does_not_exist() & below(limit)) | (
        MerchantModel.webhook_url.exists() & below(limit - 1)
    )


class WebhookEndpointRepository:
    # ------------------------------------------------------------------ reads
    def rows(self, merchant_id: str) -> list[Endpoint]:
        """The merchant's endpoints of the endpoints table, oldest first (a strongly
        consistent query of one partition: at most 16 items)."""
        with storage_errors():
            found = list(WebhookEndpointModel.query(merchant_id, consistent_read=True))
        return sorted((_endpoint(row) for row in found), key=lambda e: (e.created_at, e.id))

    def row(self, merchant_id: str, endpoint_id: str) -> Endpoint | None:
        with storage_errors():
            try:
                return _endpoint(
                    WebhookEndpointModel.get(merchant_id, endpoint_id, consistent_read=True)
                )
            except WebhookEndpointModel.DoesNotExist:
                return None

    # ------------------------------------------------------------------ the set
    def create(self, endpoint: Endpoint, limit: int) -> None:
        """Insert `endpoint` and count it, if the merchant stays within `limit` endpoints (its
        default endpoint included); ConditionFailed otherwise. Concurrent creates never read
        and write back the count: each adds one under the condition, so none can pass it."""
        row = WebhookEndpointModel(
            merchant_id=endpoint.merchant_id,
            id=endpoint.id,
            url=endpoint.url,
            enabled_events=list(endpoint.enabled_events),
            description=endpoint.description,
            status=endpoint.status,
            secret=endpoint.secrets.current,
            rotations=0,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )
        with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
            tx.save(row, condition=WebhookEndpointModel.id.does_not_exist())
            tx.update(
                MerchantModel(id=endpoint.merchant_id),
                actions=[
                    MerchantModel.webhook_endpoint_count.add(1),
                    MerchantModel.webhook_endpoints_version.add(1),
                    MerchantModel.webhook_subscriptions.add(set(endpoint.enabled_events)),
                ],
                condition=_room_for_one(limit),
            )

    def update(
        self,
        endpoint: Endpoint,
        fields: dict,
        version: int | None = None,
        subscriptions: tuple | None = None,
    ) -> None:
        """Set `fields` (None removes) of an existing endpoint; ConditionFailed if it is gone.
        With `subscriptions` (its events changed), the merchant's summary becomes that, if
        the set is still at `version` (ConditionFailed otherwise)."""
        target, condition, actions = self._target(endpoint, fields)
        if subscriptions is None:
            with storage_errors():
                target.update(actions=actions, condition=condition)
            return
        summary = _summary_actions(version, subscriptions)
        with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
            if endpoint.is_default:  # one item: the summary joins the default endpoint's write
                tx.update(
                    target,
                    actions=actions + summary,
                    condition=condition & _version_condition(version),
                )
            else:
                tx.update(target, actions=actions, condition=condition)
                tx.update(
                    MerchantModel(id=endpoint.merchant_id),
                    actions=summary,
                    condition=_version_condition(version),
                )

    def delete(self, endpoint: Endpoint, version: int | None, subscriptions: tuple) -> None:
        """Remove a row endpoint and uncount it, the summary becoming `subscriptions`, if the
        set is still at `version`; ConditionFailed otherwise."""
        with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
            tx.delete(
                WebhookEndpointModel(merchant_id=endpoint.merchant_id, id=endpoint.id),
                condition=WebhookEndpointModel.id.exists(),
            )
            tx.update(
                MerchantModel(id=endpoint.merchant_id),
                actions=[
                    MerchantModel.webhook_endpoint_count.add(-1),
                    *_summary_actions(version, subscriptions),
                ],
                condition=_version_condition(version),
            )

    def set_default_url(
        self, merchant: MerchantModel, url: str | None, at: str, limit: int
    ) -> None:
        """Give the merchant a default endpoint at `url`, change it, or take it away (None):
        the legacy `PUT webhooks/config`. A new default endpoint needs room within `limit`
        (ConditionFailed otherwise), starts enabled and takes every event; a removed one leaves
        nothing behind."""
        actions = [
            MerchantModel.webhook_url.set(url) if url else MerchantModel.webhook_url.remove()
        ]
        actions.append(MerchantModel.updated_at.set(at))
        condition = MerchantModel.id.exists()
        if not merchant.webhook_url or not url:
            for name in DEFAULT_STATE:
                actions.append(getattr(MerchantModel, DEFAULT_ATTRIBUTES[name]).remove())
            actions.append(_set_or_remove(MerchantModel.webhook_created_at, at if url else None))
        if url:
            count = MerchantModel.webhook_endpoint_count
            condition &= (
                MerchantModel.webhook_url.exists() | count.does_not_exist() | (count < limit)
            )
        with storage_errors():
            merchant.update(actions=actions, condition=condition)

    # ------------------------------------------------------------------ one endpoint
    def _target(self, endpoint: Endpoint, fields: dict):
        """(item, condition that it exists, actions setting `fields`) for either kind."""
        if endpoint.is_default:
            actions = [
                _set_or_remove(getattr(MerchantModel, DEFAULT_ATTRIBUTES[name]), value)
                for name, value in fields.items()
            ]
            return (
                MerchantModel(id=endpoint.merchant_id),
                MerchantModel.webhook_url.exists(),
                actions,
            )
        actions = [
            _set_or_remove(getattr(WebhookEndpointModel, name), value)
            for name, value in fields.items()
        ]
        row = WebhookEndpointModel(merchant_id=endpoint.merchant_id, id=endpoint.id)
        return row, WebhookEndpointModel.id.exists(), actions

    def replace_secrets(self, endpoint: Endpoint, secrets: SigningSecrets, at: str) -> bool:
        """Store a row endpoint's rolled secrets if no other roll happened since it was read;
        False when one did (or the endpoint is gone)."""
        row = WebhookEndpointModel(merchant_id=endpoint.merchant_id, id=endpoint.id)
        actions = [
            *secrets_actions(WebhookEndpointModel, secrets),
            WebhookEndpointModel.rotations.set(endpoint.rotations + 1),
            WebhookEndpointModel.updated_at.set(at),
        ]
        condition = WebhookEndpointModel.id.exists() & (
            WebhookEndpointModel.rotations == endpoint.rotations
        )
        try:
            with storage_errors():
                row.update(actions=actions, condition=condition)
        except ConditionFailed:
            return False
        return True

    def start_failing(self, endpoint: Endpoint, since: float, missed_since: str) -> bool:
        """Begin a failing streak at `since` (the failed attempt) whose first missed delivery
        was created at `missed_since`, unless a streak is already running."""
        target, exists, actions = self._target(
            endpoint, {"failing_since": since, "missed_since": missed_since}
        )
        attribute = self._attribute(endpoint, "failing_since")
        return self._conditional(target, actions, exists & attribute.does_not_exist())

    def note_missed(self, endpoint: Endpoint, created_at: str) -> bool:
        """A delivery created at `created_at` was missed (failed during the streak, or ended
        unsent while disabled): move `missed_since` back to it if it is older. Written only
        while the endpoint is failing or disabled (ISO strings compare as times)."""
        target, exists, actions = self._target(endpoint, {"missed_since": created_at})
        missed = self._attribute(endpoint, "missed_since")
        condition = (
            exists
            & (
                self._attribute(endpoint, "failing_since").exists()
                | (self._attribute(endpoint, "status") == "disabled")
            )
            & (missed.does_not_exist() | (missed > created_at))
        )
        return self._conditional(target, actions, condition)

    def end_failing(self, endpoint: Endpoint) -> bool:
        """A delivery succeeded: the failing streak, if any, is over."""
        target, exists, actions = self._target(
            endpoint, {"failing_since": None, "missed_since": None}
        )
        attribute = self._attribute(endpoint, "failing_since")
        return self._conditional(target, actions, exists & attribute.exists())

    def disable_failing(
        self, endpoint: Endpoint, failing_since: float, at: str, notice: EventModel
    ) -> bool:
        """Disable an endpoint whose streak started at `failing_since` and record `notice`
        (a `webhook_endpoint.disabled` event) in the same transaction; False if the endpoint
        changed meanwhile (a success, a re-enable, another worker disabling it)."""
        target, exists, actions = self._target(
            endpoint, {"status": "disabled", "disabled_at": at, "disabled_reason": DISABLED_FAILING}
        )
        status = self._attribute(endpoint, "status")  # absent on a default endpoint: enabled
        condition = (
            exists
            & (status.does_not_exist() | (status == "enabled"))
            & (self._attribute(endpoint, "failing_since") == failing_since)
        )
        try:
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.update(target, actions=actions, condition=condition)
                tx.save(notice, condition=EventModel.id.does_not_exist())
        except ConditionFailed:
            return False
        return True

    @staticmethod
    def _attribute(endpoint: Endpoint, name: str):
        if endpoint.is_default:
            return getattr(MerchantModel, DEFAULT_ATTRIBUTES[name])
        return getattr(WebhookEndpointModel, name)

    @staticmethod
    def _conditional(target, actions, condition) -> bool:
        try:
            with storage_errors():
                target.update(actions=actions, condition=condition)
        except ConditionFailed:
            return False
        return True
