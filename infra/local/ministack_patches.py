"""Every workaround for MiniStack's behaviour, in one place (docs/ministack.md reports each one
as an upstream bug report would). Applied by infra.local.emulator before MiniStack starts; runs in
MiniStack's own virtualenv, so it imports nothing but the standard library and ministack.

1. SQS long polls re-check every 100 ms and are not woken when a message arrives: a receive
   waits for an arrival, or for the moment the next delayed or in-flight message becomes
   visible, whichever comes first.
2. Event source mappings sleep up to 1 s when idle, so a delayed message (DelaySeconds: the
   simulated bank time) is handed to its function up to a second late: the mappings' poller
   also wakes when the next message becomes visible.
3. Every warm Lambda invocation waits up to 50 ms for log lines after the handler returned
   (none may come): the function's process now writes an end-of-invocation marker to its log
   stream before its response, and the log drain stops at that marker.
4. API Gateway's import of an OpenAPI body (what SAM generates for the REST API) ignores
   `x-amazon-apigateway-gateway-responses` (the template's `GatewayResponses`: an unknown route
   answered 403 "Missing Authentication Token" instead of the template's 404 envelope) and
   `x-amazon-apigateway-any-method` (the template's `ANY` events: those methods were missing).
   Both are now imported, as PutGatewayResponse and PutMethod would store them.
5. One Python process per concurrent invocation, started on demand: on AWS each is a sandbox
   on its own share of a fleet, here they share two cores, so a burst of 16 requests started
   16 cold imports at once (p99 25 s) and left 16 processes of ~90 MiB behind. A function gets
   at most `environments` processes (or its own number: `overrides`, for a function that waits
   on the network rather than the CPU); an invocation beyond waits for a free one (up to the
   function's timeout) instead of starting another. An event source mapping hands out no more
   batches at once than its function has environments (MaximumConcurrency still applies on
   top): a batch that waited for an environment past the function's timeout failed, and its
   messages stayed hidden for the queue's whole visibility timeout.
6. API Gateway takes the caller's address (`requestContext.identity.sourceIp`) from the first
   entry of the request's own `X-Forwarded-For` header, else 127.0.0.1; on AWS it is the
   address of the connection. Any caller could claim any address (the sign-in limit per address
   was void) and every other caller was 127.0.0.1 (one shared limit). The header is now replaced
   by the connection's address before MiniStack reads it.
7. Nothing starts a function's execution environments ahead of traffic (provisioned
   concurrency is a stub), and warming them by invoking the function N times at once is not
   exact: under load a warm-up invocation past the function's timeout kills its process, and a
   retry may land on an environment that is warm already. `POST /_paygate/warm?function=NAME&
   environments=N` leases N environments of the function, invokes each with an empty batch (a
   worker's warm-up ping), again on the same environment when it failed, and says how many
   answered (`warm_environments`).

Not a patch, but part of the same story: MiniStack fires the stack's schedule rules and feeds its
event source mappings itself, as AWS does. `make run` consumes the queues and fires the
schedules with its own pollers, so it disables those on the emulator (infra.local.consumers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from urllib.parse import parse_qs

PATCHED_VERSION = "1.5.33"
ANY_METHOD = {"x-amazon-apigateway-any-method": "any"}
FORWARDED_FOR = b"x-forwarded-for"
WARM_PATH = "/_paygate/warm"
WARM_EVENT = {"Records": []}  # a worker's warm-up ping: it builds its services, nothing else
WARM_ATTEMPTS = 3
END_OF_INVOCATION = "\x1epaygate-end-of-invocation\x1e"

_WORKER_ANCHOR = "        _real_stdout.flush()\n\nrun()"
_WORKER_WITH_MARKER = (
    "        sys.stderr.flush()\n"
    f"        sys.stderr.write({END_OF_INVOCATION!r} + '\\n')\n"
    "        sys.stderr.flush()\n"
    "        _real_stdout.flush()\n\nrun()"
)


class _Arrivals:
    """Wakes long polls when a message may have become available anywhere. MiniStack calls
    `esm_wake.set()` on every send, batch send and visibility reset (and when a mapping finishes
    a batch), from the event loop or from its background threads."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def bind(self) -> asyncio.Event:
        if self.event is None:
            self.loop = asyncio.get_running_loop()
            self.event = asyncio.Event()
        return self.event

    def notify(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
        else:
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        event, self.event = self.event, asyncio.Event()
        if event is not None:
            event.set()

    async def wait(self, timeout: float) -> None:
        event = self.bind()
        with contextlib.suppress(asyncio.TimeoutError):  # noqa: UP041 - not TimeoutError on 3.10
            await asyncio.wait_for(event.wait(), timeout)


ARRIVALS = _Arrivals()


def next_visible(messages, now: float) -> float | None:
    """When the earliest of `messages` that is not visible yet becomes visible."""
    later = [m["visible_at"] for m in messages if m.get("visible_at", 0) > now]
    return min(later) if later else None


def _patch_long_poll(sqs) -> None:
    original = sqs._HANDLERS["ReceiveMessage"]

    async def receive_message(data: dict, qurl: str) -> dict:
        url = data.get("QueueUrl", qurl)
        requested = data.get("WaitTimeSeconds")
        queue = sqs._get_q(url, "sqs:ReceiveMessage")
        if requested is None:
            requested = queue["attributes"].get("ReceiveMessageWaitTimeSeconds", "0")
        deadline = time.time() + int(requested)
        once = {**data, "WaitTimeSeconds": 0}
        while True:
            ARRIVALS.bind()  # before the check, so an arrival during it is not missed
            result = await original(once, qurl)
            now = time.time()
            if result.get("Messages") or now >= deadline:
                return result
            until = deadline
            upcoming = next_visible(queue["messages"], now)
            if upcoming is not None:
                until = min(until, upcoming)
            await ARRIVALS.wait(max(0.0, until - now))

    sqs._HANDLERS["ReceiveMessage"] = receive_message
    sqs._act_receive_message = receive_message


class _WakeAtNextVisibility:
    """Stands in for MiniStack's `esm_wake` inside the mappings' poller: the same event, but an
    idle wait also ends when the next message of any queue becomes visible."""

    def __init__(self, event: threading.Event, sqs) -> None:
        self._event = event
        self._sqs = sqs

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        now = time.time()
        upcoming = None
        for queue in list(self._sqs._queues._data.values()):
            candidate = next_visible(list(queue.get("messages", [])), now)
            if candidate is not None and (upcoming is None or candidate < upcoming):
                upcoming = candidate
        if upcoming is not None:
            remaining = max(0.0, upcoming - now)
            timeout = remaining if timeout is None else min(timeout, remaining)
        return self._event.wait(timeout)


def _patch_mapping_poller(lambda_svc, sqs, esm_wake: threading.Event) -> None:
    lambda_svc._esm_wake = _WakeAtNextVisibility(esm_wake, sqs)


def _patch_log_drain(lambda_runtime) -> None:
    script = lambda_runtime._PYTHON_WORKER_SCRIPT
    if script.count(_WORKER_ANCHOR) != 1:
        raise RuntimeError("MiniStack's Python worker script changed: review ministack_patches")
    lambda_runtime._PYTHON_WORKER_SCRIPT = script.replace(_WORKER_ANCHOR, _WORKER_WITH_MARKER)
    worker = lambda_runtime.Worker

    def drain_until_marker(self, hard_cap: float = 0.250, **_ignored) -> str:
        lines, deadline = [], time.monotonic() + hard_cap
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self._stderr_queue.get(timeout=remaining)
            except Exception:  # queue.Empty: the process said nothing more in time
                break
            if line == END_OF_INVOCATION:
                break
            lines.append(line)
        return "\n".join(lines)

    original_drain = worker._drain_stderr

    def drain_without_markers(self) -> str:
        text = original_drain(self)
        return "\n".join(line for line in text.split("\n") if line != END_OF_INVOCATION)

    worker._drain_stderr_bounded = drain_until_marker
    worker._drain_stderr = drain_without_markers


def _patch_openapi_import(apigateway_v1) -> None:
    original = apigateway_v1._import_rest_api
    apigateway_v1._OPENAPI_HTTP_METHODS.add("any")  # imported as the method "ANY"

    def import_rest_api(spec, base_data=None):
        paths = {
            path: {
                ("any" if m == "x-amazon-apigateway-any-method" else m): op
                for m, op in item.items()
            }
            for path, item in (spec.get("paths") or {}).items()
        }
        api_id = original({**spec, "paths": paths}, base_data)
        for kind, response in (spec.get("x-amazon-apigateway-gateway-responses") or {}).items():
            apigateway_v1._put_gateway_response(api_id, kind, dict(response or {}))
        return api_id

    apigateway_v1._import_rest_api = import_rest_api


def _patch_environment_cap(
    lambda_runtime, lambda_svc, environments: int, overrides: dict[str, int]
) -> None:
    original_acquire = lambda_runtime.acquire_worker
    original_release = lambda_runtime.release_worker
    original_batches = lambda_svc._sqs_esm_concurrency
    freed = threading.Condition()

    def environments_of(name: str) -> int:
        return next((n for key, n in overrides.items() if key in name), environments)

    def acquire_worker(func_name, config, code_zip, qualifier="$LATEST", max_concurrency=None):
        limit = environments_of(func_name)
        cap = min(max_concurrency or limit, limit)
        deadline = time.monotonic() + float(config.get("Timeout", 30))
        with freed:
            while True:
                worker, reason = original_acquire(
                    func_name, config, code_zip, qualifier=qualifier, max_concurrency=cap
                )
                remaining = deadline - time.monotonic()
                if worker is not None or reason != "func_cap" or remaining <= 0:
                    return worker, reason
                freed.wait(remaining)

    def batches_at_once(esm, func_rec, config, queue=None) -> int:
        limit = environments_of(esm.get("FunctionArn", ""))
        return min(original_batches(esm, func_rec, config, queue), limit)

    def release_worker(worker) -> None:
        original_release(worker)
        with freed:
            freed.notify_all()

    for module in (lambda_runtime, lambda_svc):
        module.acquire_worker = acquire_worker
        module.release_worker = release_worker
    lambda_svc._sqs_esm_concurrency = batches_at_once


def with_connection_address(inner):
    """The ASGI app `inner`, seeing `X-Forwarded-For` set to the connection's address only."""

    async def app(scope, receive, send):
        if scope["type"] == "http":
            peer = (scope.get("client") or ("127.0.0.1",))[0]
            kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != FORWARDED_FOR]
            scope = {**scope, "headers": [*kept, (FORWARDED_FOR, peer.encode())]}
        await inner(scope, receive, send)

    return app


def warm_environments(
    lambda_runtime, lambda_svc, name: str, environments: int, attempts: int = WARM_ATTEMPTS
) -> int:
    """Start `environments` execution environments of the function `name`, each warmed by an
    empty batch (up to `attempts` times on that same environment: a timed-out one is killed and
    started again); how many answered. 0 for an unknown function."""
    func, config = lambda_svc._get_func_record_for_qualifier(name, None)
    if func is None:
        return 0
    leased = []
    for _ in range(environments):  # held until all are warm: each lease is another process
        worker, _ = lambda_runtime.acquire_worker(name, config, func.get("code_zip"))
        if worker is None:
            break
        leased.append(worker)

    def warm(worker) -> bool:
        return any(
            worker.invoke(WARM_EVENT, f"warm-{uuid.uuid4()}").get("status") == "ok"
            for _ in range(attempts)
        )

    try:
        with ThreadPoolExecutor(max(1, len(leased))) as pool:
            return sum(pool.map(warm, leased))
    finally:
        for worker in leased:
            lambda_runtime.release_worker(worker)


def with_warm_route(inner, lambda_runtime, lambda_svc):
    """The ASGI app `inner`, answering POST WARM_PATH itself (`warm_environments`)."""

    async def app(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != WARM_PATH or scope["method"] != "POST":
            await inner(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        try:
            name, environments = query["function"][0], int(query["environments"][0])
        except (KeyError, ValueError):
            status, answer = 400, {"error": "function and environments (a number) are required"}
        else:
            warm = await asyncio.to_thread(
                warm_environments, lambda_runtime, lambda_svc, name, environments
            )
            status, answer = 200, {"warm": warm}
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    return app


def apply(environments: int, overrides: dict[str, int] | None = None) -> None:
    """Apply every workaround; refuses a MiniStack other than the one they were written for.
    `environments`: the most processes one function may have at once; `overrides`: another
    number for the functions whose name contains a key."""
    version = metadata.version("ministack")
    if version != PATCHED_VERSION:
        raise RuntimeError(
            f"infra/local/ministack_patches.py was written for ministack {PATCHED_VERSION}, "
            f"found {version}: run `make setup`, or review the patches for the new version"
        )
    from ministack import app as app_module
    from ministack.core import concurrency, lambda_runtime
    from ministack.services import apigateway_v1, lambda_svc, sqs

    _patch_long_poll(sqs)
    original_set = concurrency.esm_wake.set

    def set_and_notify() -> None:
        original_set()
        ARRIVALS.notify()

    concurrency.esm_wake.set = set_and_notify  # the instance every module imported
    _patch_mapping_poller(lambda_svc, sqs, concurrency.esm_wake)
    _patch_log_drain(lambda_runtime)
    _patch_openapi_import(apigateway_v1)
    _patch_environment_cap(lambda_runtime, lambda_svc, environments, overrides or {})
    app_module.app = with_warm_route(  # main() serves the module's `app`
        with_connection_address(app_module.app), lambda_runtime, lambda_svc
    )
