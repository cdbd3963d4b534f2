"""Where the CPU goes under load: `python -m bench.profile [--mode local|stack]`.

Starts the local product, drives POST /api/v1/payments at concurrency 16 (payments settle behind
it after the 1 s bank delay) and samples every process of the stack with py-spy (a sampling
profiler of all threads; `pip install py-spy`, or pass --py-spy). Prints, per process, the CPU
it used and the functions holding the most samples (own time and with callees). CPU profiles,
unlike wall-clock figures, hold still on a busy machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from bench.common import MODES, machine, start
from bench.payments import load

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def processes(runtime) -> dict[str, int]:
    """Name → pid of the stack's processes (in the stack: MiniStack and its Lambda workers)."""
    found = {name: child.process.pid for name, child in runtime.children.items() if child.running()}
    emulator = runtime.children.get("emulator")
    if emulator is not None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
            except (OSError, ValueError):
                continue
            if ppid == emulator.process.pid and "ministack-lambda-" in cmdline:
                function = cmdline.split("ministack-lambda-")[1].split("/")[0].rsplit("-", 1)[0]
                found[f"lambda {function} {stat.parent.name}"] = int(stat.parent.name)
    return found


def summarize(collapsed: Path, top: int) -> tuple[list, list, int]:
    own, total, samples = collections.Counter(), collections.Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack.split(";")]
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    return own.most_common(top), total.most_common(top), samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["local", "stack"], default="local")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    runtime = start(MODES[args.mode][0], TEST_MODE="true", TEST_PROCESSING_DELAY="1000")
    out = Path(tempfile.mkdtemp(prefix="paygate-profile-"))
    try:
        load(runtime.api_url, 4, 3)  # warm every process first
        pids = processes(runtime)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        recorders = {
            name: subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--output",
                    str(out / f"{name.replace(' ', '_')}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
            if not name.startswith(("checkout", "dashboard"))
        }
        result = {}

        def drive() -> None:
            latencies, errors, elapsed = load(runtime.api_url, 16, args.seconds)
            result.update(lat=latencies, err=errors, el=elapsed)

        driver = threading.Thread(target=drive)
        driver.start()
        driver.join()
        for recorder in recorders.values():
            recorder.wait(timeout=60)
        print(
            f"POST /api/v1/payments at concurrency 16 for {result['el']:.1f} s: "
            f"{len(result['lat']) / result['el']:.1f} req/s, {result['err']} errors"
        )
        for name, pid in pids.items():
            try:
                used = cpu_seconds(pid) - before[name]
            except OSError:
                continue
            print(f"\n== {name}: {used:.2f} s of CPU ({used / result['el']:.2f} of a core)")
            collapsed = out / f"{name.replace(' ', '_')}.txt"
            if name not in recorders or not collapsed.exists():
                continue
            own, total, samples = summarize(collapsed, args.top)
            print(f"   {samples} samples; most own time:")
            for frame, n in own:
                print(f"   {100 * n / max(samples, 1):5.1f}%  {frame}")
            print("   most time with callees:")
            for frame, n in total:
                print(f"   {100 * n / max(samples, 1):5.1f}%  {frame}")
    finally:
        runtime.stop()


if __name__ == "__main__":
    main()
