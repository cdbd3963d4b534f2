"""The `paygate` command: `listen` and `trigger`, against any Paygate API."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from paygate_cli.api import ApiError, PaygateApi
from paygate_cli.listen import LOOKBACK_SECONDS, Listener, format_iso
from paygate_cli.state import StateFile, state_path
from paygate_cli.trigger import SCENARIOS, TriggerFailed, trigger

DEFAULT_API_URL = "http://localhost:8000"
TEST_MERCHANT_KEY = "key_test_abc123"
TEST_MERCHANT_SECRET = "secret_test_xyz789"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(raw: str, now: datetime | None = None) -> str:
    """`--since`: an ISO-8601 time with a zone, unix seconds, or an age such as `30m` or `2h`."""
    now = now or datetime.now(UTC)
    try:
        if raw[-1:] in _UNITS and raw[:-1].isdigit():
            return format_iso(now - timedelta(seconds=int(raw[:-1]) * _UNITS[raw[-1]]))
        if raw.isdigit():
            return format_iso(datetime.fromtimestamp(int(raw), UTC))
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise argparse.ArgumentTypeError(f"not a time: {raw!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a zone (Z or +05:30): {raw!r}")
    return format_iso(moment)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paygate",
        description="Receive a Paygate account's webhooks on your machine, and trigger events.",
    )
    env = os.environ
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url",
        default=env.get("PAYGATE_API_URL") or DEFAULT_API_URL,
        help="the Paygate API (env PAYGATE_API_URL; default %(default)s)",
    )
    common.add_argument(
        "--api-key",
        default=env.get("PAYGATE_API_KEY") or TEST_MERCHANT_KEY,
        help="the merchant's API key (env PAYGATE_API_KEY; default: the seeded test merchant)",
    )
    common.add_argument(
        "--api-secret",
        default=env.get("PAYGATE_API_SECRET") or TEST_MERCHANT_SECRET,
        help="the merchant's API secret (env PAYGATE_API_SECRET)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listen = commands.add_parser(
        "listen",
        parents=[common],
        help="forward the account's events to a local URL",
        description=(
            "Follow the account's events through the events API and POST each, signed with a "
            "session secret (printed at start, kept between runs), to --forward-to. Resumes "
            "after the last event it saw."
        ),
    )
    listen.add_argument("--forward-to", required=True, metavar="URL", help="your webhook URL")
    start = listen.add_mutually_exclusive_group()
    start.add_argument(
        "--from-now", action="store_true", help="forget the saved place: only new events"
    )
    start.add_argument(
        "--since",
        type=parse_since,
        metavar="TIME",
        help="replay from TIME (ISO-8601, unix seconds, or an age: 30m, 2h, 1d)",
    )
    listen.add_argument(
        "--events", metavar="NAMES", help="only these events, comma-separated (default: all)"
    )
    listen.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (%(default)s)"
    )
    listen.add_argument("--lookback", type=float, default=LOOKBACK_SECONDS, help=argparse.SUPPRESS)

    fire = commands.add_parser(
        "trigger",
        parents=[common],
        help="create the objects that raise an event",
        description="Create the objects that raise EVENT, with Paygate's test instruments.",
    )
    fire.add_argument(
        "event", choices=sorted(SCENARIOS), metavar="EVENT", help=", ".join(SCENARIOS)
    )
    fire.add_argument("--amount", type=int, default=50000, help="minor units (%(default)s)")
    fire.add_argument("--currency", default="INR")
    fire.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for settlement")
    return parser


def say(line: str) -> None:
    print(line, flush=True)


def run_listen(args, api: PaygateApi) -> int:
    store = StateFile(state_path(api.url, args.api_key))
    events = {e.strip() for e in args.events.split(",") if e.strip()} if args.events else None
    listener = Listener(api, args.forward_to, store, out=say, events=events, lookback=args.lookback)
    state = listener.start(from_now=args.from_now, since=args.since)
    where = f"after {state.high_water}" if state.high_water else "from the first event"
    say(f"Ready! Forwarding events of {api.url} to {args.forward_to} ({where}).")
    say(f"Your webhook signing secret is {state.secret} (^C to quit)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        listener.run(args.interval, should_stop=stop.is_set)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    api = PaygateApi(args.api_url, args.api_key, args.api_secret)
    try:
        if args.command == "listen":
            return run_listen(args, api)
        say(f"Triggering {args.event} on {api.url}")
        started = time.monotonic()
        trigger(api, args.event, args.amount, args.currency, args.timeout, out=say)
        say(f"Done in {time.monotonic() - started:.1f} s: watch `paygate listen` for the events.")
        return 0
    except ApiError as exc:
        print(f"paygate: the API answered {exc}", file=sys.stderr)
        return 1
    except TriggerFailed as exc:
        print(f"paygate: {exc}", file=sys.stderr)
        return 1
