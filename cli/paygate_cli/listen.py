"""`paygate listen`: follow the merchant's events through the events API and forward each, signed
with a session secret, to a local URL.

Polling: each round lists the events created since `high_water - lookback` (newest first,
every page) and forwards, oldest first, those not seen yet. The lookback covers events that
become visible late: an event's `created_at` is taken before its write commits, and the list
index is eventually consistent, so an event can appear after a newer one was already seen.
Ids seen within the lookback are remembered, so nothing is forwarded twice. The state is saved
after every forwarded event: a restart resumes after the last one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

from paygate.signing import webhook_headers
from paygate_cli.api import MAX_PAGES_PER_POLL, ApiError, PaygateApi, TooManyPages
from paygate_cli.state import ListenState, StateFile, new_session_secret

LOOKBACK_SECONDS = 30.0
FORWARD_TIMEOUT_SECONDS = 10


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_iso(moment: datetime) -> str:
    """The API's own form: ISO-8601 UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def shift(iso: str, seconds: float) -> str:
    return format_iso(parse_iso(iso) + timedelta(seconds=seconds))


class Listener:
    def __init__(
        self,
        api: PaygateApi,
        forward_to: str,
        store: StateFile,
        out: Callable[[str], None] = print,
        post: Callable[..., requests.Response] | None = None,
        events: set[str] | None = None,
        lookback: float = LOOKBACK_SECONDS,
    ) -> None:
        self.api = api
        self.forward_to = forward_to
        self.store = store
        self.out = out
        self.post = post or requests.Session().post
        self.events = events
        self.lookback = lookback
        self.state: ListenState | None = None

    # ------------------------------------------------------------------ start
    def start(self, from_now: bool = False, since: str | None = None) -> ListenState:
        """Resume the saved place (keeping the session secret), or start afresh: from the
        newest event (`from_now`, and the first run), or from `since` (an ISO time)."""
        saved = self.store.load()
        if saved is not None and not from_now and since is None:
            self.state = saved
            return saved
        state = ListenState(secret=saved.secret if saved else new_session_secret())
        if since is not None:
            state.high_water = since
            self._mark_seen(state, created_lt=since)
        else:
            newest = self.api.events(limit=1)["data"]
            if newest:
                state.high_water = newest[0]["created_at"]
                self._mark_seen(state)
        self.state = state
        self.store.save(state)
        return state

    def _mark_seen(self, state: ListenState, created_lt: str | None = None) -> None:
        """What already happened before the starting point is not forwarded."""
        gte = shift(state.high_water, -self.lookback)
        for event in self._read(created_gte=gte, created_lt=created_lt):
            state.seen[event["id"]] = event["created_at"]

    def _read(self, **params) -> list[dict]:
        """The events matching `params`, newest first: at most MAX_PAGES_PER_POLL pages (an
        API that always has more is not read forever; what was read is used)."""
        read: list[dict] = []
        try:
            for event in self.api.all_events(**params):
                read.append(event)
        except TooManyPages:
            self.out(
                f"The API still had more events (has_more) after {MAX_PAGES_PER_POLL} pages; "
                f"going on with the {len(read)} newest read."
            )
        return read

    # ------------------------------------------------------------------ rounds
    def poll_once(self) -> int:
        """One round: forward every event not seen yet, oldest first; returns how many."""
        state = self.state
        gte = shift(state.high_water, -self.lookback) if state.high_water else None
        fresh = [e for e in self._read(created_gte=gte) if e["id"] not in state.seen]
        fresh.sort(key=lambda e: (e["created_at"], e["id"]))
        for event in fresh:
            if self.events is None or event["event"] in self.events:
                self.forward(event)
            state.seen[event["id"]] = event["created_at"]
            if state.high_water is None or event["created_at"] > state.high_water:
                state.high_water = event["created_at"]
            self.store.save(state)
        if fresh:
            self._forget_old()
            self.store.save(state)
        return len(fresh)

    def _forget_old(self) -> None:
        state = self.state
        floor = shift(state.high_water, -self.lookback)
        state.seen = {i: at for i, at in state.seen.items() if at >= floor}

    def forward(self, event: dict) -> int | None:
        """POST the exact webhook body, signed both ways; prints one line; the status or None."""
        body = event["payload"].encode()
        headers = webhook_headers(body, self.state.secret, event["id"], int(time.time()))
        try:
            response = self.post(
                self.forward_to,
                data=body,
                headers=headers,
                timeout=FORWARD_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status, outcome = response.status_code, f"[{response.status_code}]"
        except requests.RequestException as exc:
            status, outcome = None, f"[failed: {type(exc).__name__}]"
        self.out(
            f"{event['created_at']}  {event['event']:<17} {event['id']}"
            f"  --> POST {self.forward_to} {outcome}"
        )
        return status

    def run(self, interval: float, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Poll until `should_stop()`; the API being away is reported once, then retried."""
        failing = False
        while not should_stop():
            try:
                self.poll_once()
                if failing:
                    self.out("Connected again.")
                failing = False
            except ApiError as exc:
                if exc.status == 401:
                    raise
                if not failing:
                    self.out(f"Cannot read events ({exc}); retrying...")
                failing = True
            time.sleep(interval)
