"""What every benchmark shares: a local stack on free ports, the machine, percentiles."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import tempfile
from pathlib import Path

from infra.local.runtime import Runtime, RuntimeConfig

TEST_HEADERS = {"X-Api-Key": "key_test_abc123", "X-Api-Secret": "secret_test_xyz789"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    """One line about the machine the figures come from."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    return (
        f"{os.cpu_count()} cores ({model}){memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def start(**variables: str) -> Runtime:
    """The local product on free ports (same code as `make run`)."""
    config = RuntimeConfig(
        api_port=free_port(),
        checkout_port=free_port(),
        dashboard_port=free_port(),
        emulator_port=free_port(),
        stack_name="paygate-bench",
        log_dir=Path(tempfile.mkdtemp(prefix="paygate-bench-")),
        variables=variables,
    )
    runtime = Runtime(config)
    try:
        runtime.start()
    except Exception:
        runtime.stop()
        raise
    return runtime


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99 in milliseconds of samples in seconds."""
    if len(samples) < 2:
        value = samples[0] * 1000 if samples else float("nan")
        return {"p50": value, "p90": value, "p99": value}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p90": cuts[89] * 1000, "p99": cuts[98] * 1000}


def fmt(stats: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:7.1f} ms" for k, v in stats.items())
