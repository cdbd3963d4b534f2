"""What every benchmark shares: a local stack on free ports, the machine, percentiles."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import tempfile
from pathlib import Path

from infra.local.runtime import LOCAL, STACK, Runtime, RuntimeConfig

MODES = {"local": [LOCAL], "stack": [STACK], "both": [LOCAL, STACK]}

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


def start(mode: str = LOCAL, **variables: str) -> Runtime:
    """The local product on free ports, as `make run` (mode "local") or `make run-stack` (mode
    "stack") start it, with an empty emulator state."""
    log_dir = Path(tempfile.mkdtemp(prefix="paygate-bench-"))
    config = RuntimeConfig(
        api_port=free_port(),
        checkout_port=free_port(),
        dashboard_port=free_port(),
        emulator_port=free_port(),
        stack_name="paygate-bench",
        log_dir=log_dir,
        mode=mode,
        state_dir=log_dir / "state",
        # Benchmarks sign many merchants up from one address: no sign-up limit on their stacks.
        variables={"SIGNUPS_PER_ADDRESS_PER_HOUR": "0", **variables},
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


def lambda_processes(runtime: Runtime) -> dict[str, int]:
    """Stack mode: MiniStack's worker processes (execution environments) per function."""
    counts: dict[str, int] = {}
    names = {physical: logical for logical, physical in runtime.deployment["resources"].items()}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        for physical, logical in names.items():
            if f"ministack-lambda-{physical}-" in text:
                counts[logical] = counts.get(logical, 0) + 1
    return counts
