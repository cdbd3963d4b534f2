"""The embedded AWS emulator: MiniStack, with the workarounds of infra.local.ministack_patches.

Runs in MiniStack's own virtualenv (`.venv-ministack`, see requirements-ministack.txt), started
and supervised by the runtime:

    .venv-ministack/bin/python -m infra.local.emulator --port 4566 --state-dir .local/ministack

Bound to one address (127.0.0.1 by default, never every interface), no IoT or SFTP listeners.
With --state-dir, MiniStack saves everything it holds there when it stops cleanly (SIGTERM or
SIGINT) and loads it when it starts: a crash loses what changed since the last clean stop.

MiniStack is an ASGI app; its own `main()` serves it with Hypercorn. Here uvicorn serves it, with
httptools and uvloop: the same app, about half the emulator's CPU per AWS call (docs/ministack.md,
item 7), which is what bounds the local stack's throughput on two cores.
"""

from __future__ import annotations

import argparse
import os
import resource
from pathlib import Path

QUIET = {"IOT_MTLS_ENABLED": "0", "SFTP_ENABLED": "0"}
# An execution environment, once started, stays for the emulator's life (MiniStack reaps one idle
# for 300 s): their number is capped (ministack_patches), the stack warms them all when it comes
# up, and a burst after five quiet minutes then paid a dozen cold starts at once on two cores
# (docs/ministack.md, item 7).
KEEP_WARM = {"LAMBDA_WARM_TTL_SECONDS": str(365 * 24 * 3600)}


def environment(host: str, port: int, state_dir: Path | None, log_level: str) -> dict[str, str]:
    """The variables MiniStack reads at import time."""
    env = {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": host,
        "LOG_LEVEL": log_level,
        **QUIET,
        **KEEP_WARM,
    }
    if state_dir is not None:
        env.update(
            {
                "PERSIST_STATE": "1",
                "STATE_DIR": str(state_dir),
                "S3_PERSIST": "1",
                "S3_DATA_DIR": str(state_dir / "s3"),
            }
        )
    else:
        env.update({"PERSIST_STATE": "0", "S3_PERSIST": "0"})
    return env


def serve(
    host: str,
    port: int,
    state_dir: Path | None,
    log_level: str,
    environments: int,
    overrides: dict[str, int] | None = None,
) -> None:
    """Run MiniStack in the foreground until SIGTERM/SIGINT (it saves its state then)."""
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(environment(host, port, state_dir, log_level))
    # MiniStack points the functions it runs at AWS_ENDPOINT_URL when its own environment has
    # one: they must call this emulator, whatever endpoint the process that started it used.
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from infra.local import ministack_patches

    ministack_patches.apply(environments, overrides)
    import uvicorn
    from ministack import app as ministack

    _raise_open_files_limit()
    print(f"emulator: MiniStack on http://{host}:{port}", flush=True)
    uvicorn.run(
        ministack.app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",  # MiniStack restores its state at startup and saves it at shutdown
        log_level=log_level.lower(),
        access_log=False,
        timeout_keep_alive=75,  # as MiniStack's own server: pooled AWS clients keep connections
        # SQS long polls (up to 20 s) must not hold a clean stop, and so the state save, back.
        timeout_graceful_shutdown=2,
    )


def _raise_open_files_limit() -> None:
    """As MiniStack's main() does: bursts of connections must not hit a soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--log-level", default="ERROR")
    parser.add_argument(
        "--environments",
        type=int,
        default=os.cpu_count() or 2,
        help="most processes (execution environments) one Lambda function may have at once",
    )
    parser.add_argument(
        "--environments-for",
        action="append",
        default=[],
        metavar="NAME=N",
        help="N processes for the functions whose name contains NAME (repeatable)",
    )
    args = parser.parse_args()
    overrides = {k: int(n) for k, _, n in (o.partition("=") for o in args.environments_for)}
    serve(args.host, args.port, args.state_dir, args.log_level, args.environments, overrides)
