"""`make run` and `make run-stack`: the whole product on one machine, no Docker.

1. MiniStack on 127.0.0.1:$EMULATOR_PORT (infra.local.emulator), keeping its state in
   .local/ministack between clean stops; or an endpoint already running ($AWS_ENDPOINT);
2. template.yaml deployed into it as a CloudFormation stack (infra.deploy.stack), then the test
   merchant seeded (infra.local.seed);
3. who drives the functions (infra.deploy.consumers):
   - `make run` (mode "local", the fast developer loop): the API function on $API_PORT behind
     Chalice's local server, one process per worker function polling its queues, and the
     scheduled functions on their rate; the endpoint's mappings and rules are disabled;
   - `make run-stack` (mode "stack"): the endpoint runs everything the template declares, API
     Gateway in front of the API function, mappings feeding the workers, the schedule;
4. the checkout + SDK on $CHECKOUT_PORT and the dashboard on $DASHBOARD_PORT, their config.js
   pointing at the API.
Each local part is a separate process, restarted if it dies; Ctrl-C stops them all. Every port
it binds must be free before it starts anything (infra.local.ports): a port taken by another
`make run` is refused with its variable named, never mistaken for one of its own parts; a part
whose port was taken while it was down stops everything the same way.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests

from infra.deploy import consumers
from infra.deploy import template as tpl
from infra.deploy.stack import api_url, deploy
from infra.local.lambda_runtime import LAYER_DIR, REPO, function_env
from infra.local.ministack_patches import WARM_PATH
from infra.local.ports import PortInUse, refuse_busy
from infra.local.static_server import site_headers

LOCAL = "local"
STACK = "stack"
EMULATOR_PYTHON = REPO / ".venv-ministack" / "bin" / "python"
STATE_DIR = REPO / ".local" / "ministack"
TEMPLATE_PYTHON = "3.12"  # Globals.Function.Runtime in template.yaml
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Contract §12 variables, passed to the template as the parameters that set them.
PARAMETER_OF = {
    "TEST_MODE": "TestMode",
    "TEST_PAYMENT_SUCCESS": "TestPaymentSuccess",
    "TEST_PROCESSING_DELAY": "TestProcessingDelay",
    "WEBHOOK_RETRY_INTERVALS_TEST": "WebhookRetryIntervalsTest",
    "TEST_MERCHANT_WEBHOOK_URL": "TestMerchantWebhookUrl",
    "DEMO_LOGIN": "DemoLogin",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "WebhookAllowPrivateTargets",
    "WEBHOOK_ENDPOINT_DISABLE_AFTER_SECONDS": "WebhookEndpointDisableAfterSeconds",
    "RECONCILE_AFTER_SECONDS": "ReconcileAfterSeconds",
    "SIGNUPS_PER_ADDRESS_PER_HOUR": "SignupsPerAddressPerHour",
}


def _warm(url: str, name: str, environments: int) -> None:
    """Ask the embedded emulator to warm `environments` environments of `name`; say so when
    fewer answered (they start on demand instead)."""
    answer = requests.post(
        url, params={"function": name, "environments": environments}, timeout=120
    )
    warm = answer.json().get("warm") if answer.ok else None
    if warm != environments:
        print(f"warm-up: {warm} of {environments} environments of {name} answered", flush=True)


@dataclass
class RuntimeConfig:
    """Ports, endpoint, mode and the test-mode variables; `from_env` reads them like `make run`."""

    api_port: int = 8000
    checkout_port: int = 3001
    dashboard_port: int = 3000
    emulator_port: int = 4566
    host: str = "127.0.0.1"
    external_endpoint: str | None = None
    stack_name: str = "paygate"
    variables: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    mode: str = LOCAL
    state_dir: Path | None = STATE_DIR  # None: the emulator keeps nothing between runs
    emulator_python: Path = EMULATOR_PYTHON

    @classmethod
    def from_env(cls, env=os.environ, mode: str = LOCAL) -> RuntimeConfig:
        return cls(
            api_port=int(env.get("API_PORT", 8000)),
            checkout_port=int(env.get("CHECKOUT_PORT", 3001)),
            dashboard_port=int(env.get("DASHBOARD_PORT", 3000)),
            emulator_port=int(env.get("EMULATOR_PORT", 4566)),
            host=env.get("HOST", "127.0.0.1"),
            external_endpoint=env.get("AWS_ENDPOINT") or None,
            stack_name=env.get("STACK_NAME", "paygate"),
            variables={k: env[k] for k in PARAMETER_OF if env.get(k) is not None},
            mode=mode,
            state_dir=Path(env["EMULATOR_STATE_DIR"])
            if env.get("EMULATOR_STATE_DIR")
            else STATE_DIR,
        )

    @property
    def endpoint(self) -> str:
        return self.external_endpoint or f"http://{self.host}:{self.emulator_port}"

    def url(self, port: int) -> str:
        return f"http://localhost:{port}"

    def ports_to_bind(self) -> dict[str, int]:
        """Variable → port of every port this runtime's own parts listen on: the stack has no
        local API server, and an endpoint already running ($AWS_ENDPOINT) no emulator of ours."""
        ports = {"API_PORT": self.api_port} if self.mode == LOCAL else {}
        ports.update({"CHECKOUT_PORT": self.checkout_port, "DASHBOARD_PORT": self.dashboard_port})
        if not self.external_endpoint:
            ports["EMULATOR_PORT"] = self.emulator_port
        return ports


def _child_setup() -> callable:
    """Children get their own process group (a Ctrl-C in the terminal reaches only the runtime,
    which stops them in order, quietly) and are told to stop if the runtime dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not Linux: no parent-death signal
        libc = None

    def setup() -> None:
        os.setpgrp()
        if libc is not None:
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return setup


_CHILD_SETUP = _child_setup()


def _end_group(pgid: int, grace: float = 3.0) -> None:
    """Stop what an exited child left in its process group: MiniStack's Lambda workers outlive
    the emulator for a moment (they end when its pipes close), and `make run` must leave nothing
    running when it returns. Asked to stop, then killed after `grace` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


# The webhook worker spends its batches waiting on merchants' endpoints (up to the 5 s deadline
# per attempt), not on the CPU: it gets more execution environments than the default one per
# core. A slow server holds at most 10 attempts at once (paygate.services.endpoint_gate), each
# possibly in a batch of its own: 12 leave room for everyone else (docs/ministack.md, 5).
NETWORK_BOUND_ENVIRONMENTS = {"WebhookWorkerFunction": 12}


def wait_until(check, timeout: float, what: str, interval: float = 0.05) -> None:
    """Call `check` until it returns true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s")


class Child:
    """A supervised process: restarted when it exits unexpectedly. `ports` (variable → port):
    what it listens on, checked free before it is restarted."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log: Path | None,
        stop_timeout: float = 5,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.stop_timeout = stop_timeout
        self.ports = ports or {}
        self.process: subprocess.Popen | None = None
        self.wanted = False

    def start(self) -> None:
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            preexec_fn=_CHILD_SETUP,  # noqa: PLW1509 - only the main thread spawns
        )
        self.wanted = True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ask_to_stop(self, sig=signal.SIGTERM) -> None:
        """Signal it to stop (it is not restarted any more)."""
        self.wanted = False
        if self.running():
            self.process.send_signal(sig)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for it to exit; killed after `timeout` (its stop timeout by default)."""
        if self.process is None:
            return
        try:
            self.process.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _end_group(self.process.pid)

    def stop(self, sig=signal.SIGTERM, timeout: float | None = None) -> None:
        self.ask_to_stop(sig)
        self.wait(timeout)


class Runtime:
    """Starts, supervises and stops the local product."""

    def __init__(self, config: RuntimeConfig) -> None:
        if config.mode not in (LOCAL, STACK):
            raise ValueError(f"unknown mode {config.mode!r}")
        self.config = config
        self.children: dict[str, Child] = {}
        self.deployment: dict = {}
        self.left_out: dict[str, str] = {}
        self.base_env = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"
        }
        self.base_env.update(LOCAL_CREDENTIALS)
        self._emulator_python_version: str | None = None

    # ------------------------------------------------------------------ helpers
    def _log(self, name: str) -> Path | None:
        if self.config.log_dir is None:
            return None
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        return self.config.log_dir / f"{name}.log"

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str], python: str | None = None, **kw
    ) -> Child:
        command = [python or sys.executable, *args]
        child = Child(name, command, {**self.base_env, **env}, self._log(name), **kw)
        child.start()
        self.children[name] = child
        return child

    def _auth_token_secret(self) -> str:
        """AUTH_TOKEN_SECRET, else the one kept with the emulator's state (dashboard sessions
        outlive a restart, as the data does), else a new one."""
        if os.environ.get("AUTH_TOKEN_SECRET"):
            return os.environ["AUTH_TOKEN_SECRET"]
        state = self.config.state_dir
        if state is None or self.config.external_endpoint:
            return secrets.token_urlsafe(32)
        path = state / "auth-token-secret"
        if not path.exists():
            state.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _parameters(self) -> dict[str, str]:
        c = self.config
        origins = [
            f"http://{h}:{p}"
            for p in (c.dashboard_port, c.checkout_port)
            for h in ("localhost", "127.0.0.1")
        ]
        params = {
            "LocalMode": "true",
            "DemoLogin": "true",
            # Local receivers live on loopback; the deployed template keeps this false.
            "WebhookAllowPrivateTargets": "true",
            # Locally the pollers report through heartbeats; in the stack the mappings' states
            # tell, as on AWS.
            "WorkerStatusSource": "heartbeat" if c.mode == LOCAL else "event_source_mappings",
            "AuthTokenSecret": self._auth_token_secret(),
            "CorsAllowedOrigins": ",".join(origins),
        }
        params.update({PARAMETER_OF[k]: v for k, v in c.variables.items()})
        return params

    def _function_config(self, logical_id: str) -> dict:
        name = self.deployment["resources"][logical_id]
        # This runtime's own endpoint, not the process's: a test may run two stacks at once.
        client = boto3.client("lambda", endpoint_url=self.config.endpoint)
        return client.get_function_configuration(FunctionName=name)

    def function_env(self, logical_id: str, code_dir: Path) -> dict[str, str]:
        """The environment the stack gave a function, with its code and the layer importable."""
        env = function_env(self._function_config(logical_id), self.config.endpoint)
        env["PYTHONPATH"] = f"{LAYER_DIR}:{code_dir}:{REPO}"
        return env

    def emulator_python_version(self) -> str:
        """The Python the emulator runs the functions on (MiniStack uses its own interpreter)."""
        if self._emulator_python_version is None:
            out = subprocess.run(
                [
                    str(self.config.emulator_python),
                    "-c",
                    "import platform as p; print(p.python_version())",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            self._emulator_python_version = out.stdout.strip()
        return self._emulator_python_version

    def _bundle_python(self) -> str | None:
        if self.config.mode == LOCAL:
            return None  # the endpoint never runs the functions: plain code suffices
        if self.config.external_endpoint:
            return TEMPLATE_PYTHON
        return ".".join(self.emulator_python_version().split(".")[:2])

    @property
    def api_url(self) -> str:
        """Where the API answers: the local server, or API Gateway in the stack."""
        if self.config.mode == LOCAL:
            return self.config.url(self.config.api_port)
        return api_url(self.deployment, self.config.endpoint)

    # ------------------------------------------------------------------ phases
    def start_emulator(self) -> None:
        c = self.config
        if c.external_endpoint:
            return
        if not c.emulator_python.exists():
            raise RuntimeError(f"{c.emulator_python} is missing: run `make setup` first")
        args = ["-m", "infra.local.emulator", "--host", c.host, "--port", str(c.emulator_port)]
        if c.state_dir is not None:
            args += ["--state-dir", str(c.state_dir)]
        for function, environments in NETWORK_BOUND_ENVIRONMENTS.items():
            args += ["--environments-for", f"{function}={environments}"]
        # A clean stop writes the whole state to disk: give it time.
        child = self._spawn(
            "emulator",
            args,
            {},
            python=str(c.emulator_python),
            stop_timeout=60,
            ports={"EMULATOR_PORT": c.emulator_port},
        )

        def healthy() -> bool:
            if not child.running():
                raise RuntimeError(f"the emulator exited ({child.process.returncode}); see its log")
            return requests.get(f"{c.endpoint}/_ministack/health", timeout=1).ok

        wait_until(healthy, 15, "the emulator")

    def deploy_stack(self) -> None:
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.config.endpoint})
        self.deployment = deploy(
            self.config.stack_name, self._parameters(), bundle_python=self._bundle_python()
        )
        self.left_out = self.deployment["left_out"]
        consumers.hand_to(
            consumers.RUNTIME if self.config.mode == LOCAL else consumers.EMULATOR, self.deployment
        )

    def seed(self) -> None:
        """Seed the test merchant with the API function's environment (a step of every deploy)."""
        env = self.function_env("ApiFunction", REPO / "functions" / "api")
        subprocess.run(
            [sys.executable, "-m", "infra.local.seed"],
            env={**self.base_env, **env},
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
            preexec_fn=_CHILD_SETUP,  # noqa: PLW1509
        )

    def start_api(self) -> None:
        env = self.function_env("ApiFunction", REPO / "functions" / "api")
        c = self.config
        args = ["-m", "infra.local.api_server", "--host", c.host, "--port", str(c.api_port)]
        self._spawn("api", args, env, ports={"API_PORT": c.api_port})

    def functions_with(self, event_type: str) -> dict[str, dict]:
        """Logical id → template resource of every function with an event of `event_type`."""
        resources = tpl.load_template()["Resources"]
        return {
            name: res
            for name, res in resources.items()
            if res["Type"] == "AWS::Serverless::Function"
            and any(e["Type"] == event_type for e in res["Properties"].get("Events", {}).values())
        }

    def worker_functions(self) -> dict[str, dict]:
        """Logical id → template resource of every function fed by an SQS event."""
        return self.functions_with("SQS")

    def start_schedules(self) -> None:
        for logical_id, resource in self.functions_with("Schedule").items():
            code_dir = REPO / resource["Properties"]["CodeUri"]
            env = self.function_env(logical_id, code_dir)
            for event in resource["Properties"]["Events"].values():
                if event["Type"] == "Schedule":
                    args = [
                        "-m",
                        "infra.local.scheduler",
                        "--function-name",
                        env["AWS_LAMBDA_FUNCTION_NAME"],
                        "--code-dir",
                        str(code_dir),
                        "--handler",
                        resource["Properties"]["Handler"],
                        "--schedule",
                        event["Properties"]["Schedule"],
                    ]
                    self._spawn(f"schedule-{logical_id}", args, env)

    def start_workers(self) -> None:
        """Local mode: one poller process per worker function. Stack mode: the endpoint's
        mappings are switched on again."""
        if self.config.mode == STACK:
            consumers.set_mappings(self.deployment, enabled=True)
            return
        for logical_id, resource in self.worker_functions().items():
            code_dir = REPO / resource["Properties"]["CodeUri"]
            env = self.function_env(logical_id, code_dir)
            args = [
                "-m",
                "infra.local.worker",
                "--function-name",
                env["AWS_LAMBDA_FUNCTION_NAME"],
                "--code-dir",
                str(code_dir),
                "--handler",
                resource["Properties"]["Handler"],
            ]
            self._spawn(f"worker-{logical_id}", args, env)

    def stop_workers(self, sig=signal.SIGTERM) -> None:
        """Stop consuming the queues: the local pollers, or the endpoint's mappings."""
        if self.config.mode == STACK:
            consumers.set_mappings(self.deployment, enabled=False)
            return
        for name, child in self.children.items():
            if name.startswith("worker-"):
                child.ask_to_stop(sig)
        for name, child in self.children.items():
            if name.startswith("worker-"):
                child.wait()

    def start_static(self) -> None:
        c = self.config
        for site, variable, port in (
            ("checkout", "CHECKOUT_PORT", c.checkout_port),
            ("dashboard", "DASHBOARD_PORT", c.dashboard_port),
        ):
            args = ["-m", "infra.local.static_server", site, "--host", c.host, "--port", str(port)]
            args += ["--api-url", self.api_url, "--checkout-url", c.url(c.checkout_port)]
            # Read from the template here, once, not by each server at its start.
            args += ["--headers", json.dumps(site_headers(site, self.api_url))]
            self._spawn(site, args, {"PYTHONPATH": str(REPO)}, ports={variable: port})

    def wait_ready(self, timeout: float | None = None) -> dict:
        """Wait until /health says healthy (every part measured); returns its body. In the
        stack the first request also pays the API function's cold start."""
        timeout = timeout or (30 if self.config.mode == LOCAL else 90)
        body: dict = {}

        def healthy() -> bool:
            nonlocal body
            body = requests.get(f"{self.api_url}/health", timeout=5).json()
            return body.get("status") == "healthy"

        try:
            wait_until(healthy, timeout, "the API", interval=0.1)
        except TimeoutError as exc:
            raise TimeoutError(f"not healthy after {timeout}s: {body}") from exc
        return body

    def warm_workers(self) -> list[threading.Thread]:
        """Stack mode: every execution environment a worker function may have
        (NETWORK_BOUND_ENVIRONMENTS, else one) started and sent an empty batch, so each is warm
        before the first message, as in a stack that has been running a while: on two cores, a
        dozen cold starts in the middle of a burst take seconds each. The embedded emulator
        warms exactly that many (retrying one that timed out, docs/ministack.md item 7); an
        external endpoint gets as many invocations at once. Returns the warming threads."""
        functions = {
            self.deployment["resources"][logical_id]: NETWORK_BOUND_ENVIRONMENTS.get(logical_id, 1)
            for logical_id in self.worker_functions()
        }
        if self.config.external_endpoint:
            client = boto3.client("lambda")
            calls = [
                (client.invoke, {"FunctionName": name, "Payload": b'{"Records": []}'})
                for name, environments in functions.items()
                for _ in range(environments)
            ]
        else:
            url = f"{self.config.endpoint}{WARM_PATH}"
            calls = [
                (_warm, {"url": url, "name": n, "environments": e}) for n, e in functions.items()
            ]
        threads = [
            threading.Thread(target=call, kwargs=kwargs, daemon=True) for call, kwargs in calls
        ]
        for thread in threads:
            thread.start()
        return threads

    def start(self) -> dict:
        """Start every part and wait until healthy; PortInUse, before anything starts, when a
        port it must bind is taken."""
        refuse_busy(self.config.host, self.config.ports_to_bind())
        self.start_emulator()
        self.deploy_stack()
        self.seed()
        warming = []
        if self.config.mode == LOCAL:
            self.start_api()
            self.start_workers()
            self.start_schedules()
        else:
            warming = self.warm_workers()
        self.start_static()
        ready = self.wait_ready()
        for thread in warming:
            thread.join(timeout=60)
        return ready

    def supervise_once(self) -> None:
        """Restart any child that died while it was wanted. When the emulator dies, it is
        started again (it comes back with the state of its last clean stop, or empty), the stack
        is deployed again and everything restarts on it. PortInUse when a part's port was taken
        while it was down (restarting it would only fail again, for ever)."""
        emulator = self.children.get("emulator")
        if emulator is not None and emulator.wanted and not emulator.running():
            print(
                "runtime: the emulator exited; what changed since its last clean stop is lost. "
                "Starting it again.",
                flush=True,
            )
            self.stop()
            self.children.clear()
            self.start()
            return
        for child in self.children.values():
            if child.wanted and not child.running():
                refuse_busy(self.config.host, child.ports, part=f"the {child.name}")
                print(
                    f"runtime: {child.name} exited ({child.process.returncode}); restarting",
                    flush=True,
                )
                child.start()

    def stop(self) -> None:
        """Stop every local process at once, then the emulator (which saves its state)."""
        others = [c for n, c in self.children.items() if n != "emulator"]
        for child in others:
            child.ask_to_stop()
        for child in others:
            child.wait()
        if "emulator" in self.children:
            self.children["emulator"].stop()


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM while starting."""


def _summary(runtime: Runtime, ready: float) -> str:
    c = runtime.config
    lines = [f"\nPaygate is up (ready in {ready:.1f} s)"]
    api = runtime.api_url
    lines.append(f"  API            {api}   (try: curl {api}/health)")
    checkout = c.url(c.checkout_port)
    lines.append(f"  Checkout + SDK {checkout}/checkout.js  demo: {checkout}/demo")
    lines.append(f"  Dashboard      {c.url(c.dashboard_port)}/login")
    where = "MiniStack" if not c.external_endpoint else "the endpoint"
    if c.mode == STACK:
        python = (
            f"Python {runtime.emulator_python_version()}"
            if not c.external_endpoint
            else "the endpoint's Python"
        )
        lines.append(
            f"  AWS endpoint   {c.endpoint}  (stack '{c.stack_name}': API Gateway, Lambda on "
            f"{python}, event source mappings and the schedule all run in {where})"
        )
    else:
        lines.append(
            f"  AWS endpoint   {c.endpoint}  (stack '{c.stack_name}'; its mappings and schedule "
            "are off: local pollers and scheduler drive the functions)"
        )
    if c.state_dir is not None and not c.external_endpoint:
        lines.append(
            f"  Local data     {c.state_dir} (kept across clean stops; `make reset` empties it)"
        )
    if runtime.left_out:
        kinds = collections.Counter(runtime.left_out.values())
        lines.append(
            f"  Not deployed ({where} cannot create them): "
            + ", ".join(f"{n} × {kind}" for kind, n in sorted(kinds.items()))
        )
    lines.append("  Test merchant  X-Api-Key: key_test_abc123  X-Api-Secret: secret_test_xyz789")
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--stack", action="store_true", help="run everything in the emulator (make run-stack)"
    )
    args = parser.parse_args(argv)
    config = RuntimeConfig.from_env(mode=STACK if args.stack else LOCAL)
    runtime = Runtime(config)
    state = {"stopping": False, "started": False}

    def on_signal(*_):
        state["stopping"] = True
        if not state["started"]:
            raise _Interrupted

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    refused = False
    try:
        runtime.start()
        state["started"] = True
        print(_summary(runtime, time.monotonic() - started), flush=True)
        while not state["stopping"]:
            runtime.supervise_once()
            time.sleep(0.5)
    except _Interrupted:
        pass
    except PortInUse as exc:
        print(f"runtime: {exc}", file=sys.stderr, flush=True)
        refused = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if state["started"] or runtime.children:
            print("Stopping…", flush=True)
            runtime.stop()
            print("Paygate stopped.", flush=True)
    if refused:
        sys.exit(1)


if __name__ == "__main__":
    main()
