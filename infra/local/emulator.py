"""The embedded AWS emulator: MiniStack, with the workarounds of infra.local.ministack_patches.

Runs in MiniStack's own virtualenv (`.venv-ministack`, see requirements-ministack.txt), started
and supervised by the runtime:

    .venv-ministack/bin/python -m infra.local.emulator --port 4566 --state-dir .local/ministack

Bound to one address (127.0.0.1 by default, never every interface), no IoT or SFTP listeners.
With --state-dir, MiniStack saves everything it holds there when it stops cleanly (SIGTERM or
SIGINT) and loads it when it starts: a crash loses what changed since the last clean stop.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

QUIET = {"IOT_MTLS_ENABLED": "0", "SFTP_ENABLED": "0"}


def environment(host: str, port: int, state_dir: Path | None, log_level: str) -> dict[str, str]:
    """The variables MiniStack reads at import time."""
    env = {"GATEWAY_PORT": str(port), "BIND_HOST": host, "LOG_LEVEL": log_level, **QUIET}
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
    from ministack.app import main

    print(f"emulator: MiniStack on http://{host}:{port}", flush=True)
    sys.argv = [sys.argv[0]]
    main()


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
