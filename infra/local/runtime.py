"""`make run`: the whole product on one machine, no Docker.

1. moto's server on 127.0.0.1:$EMULATOR_PORT (or an endpoint already running: $AWS_ENDPOINT);
2. template.yaml deployed into it as a CloudFormation stack (infra.deploy.stack);
3. the API function on $API_PORT (Chalice's local server; seeds the test merchant);
4. one process per worker function, polling its event source mappings;
5. the checkout + SDK on $CHECKOUT_PORT and the dashboard on $DASHBOARD_PORT.
Each is a separate process, restarted if it dies; Ctrl-C stops them all.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests

from infra.deploy import template as tpl
from infra.deploy.stack import deploy
from infra.local.lambda_runtime import LAYER_DIR, REPO, function_env
from infra.local.static_server import site_headers

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
}


@dataclass
class RuntimeConfig:
    """Ports, endpoint and the test-mode variables; `from_env` reads them like `make run`."""

    api_port: int = 8000
    checkout_port: int = 3001
    dashboard_port: int = 3000
    emulator_port: int = 4566
    host: str = "127.0.0.1"
    external_endpoint: str | None = None
    stack_name: str = "paygate"
    variables: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None

    @classmethod
    def from_env(cls, env=os.environ) -> RuntimeConfig:
        return cls(
            api_port=int(env.get("API_PORT", 8000)),
            checkout_port=int(env.get("CHECKOUT_PORT", 3001)),
            dashboard_port=int(env.get("DASHBOARD_PORT", 3000)),
            emulator_port=int(env.get("EMULATOR_PORT", 4566)),
            host=env.get("HOST", "127.0.0.1"),
            external_endpoint=env.get("AWS_ENDPOINT") or None,
            stack_name=env.get("STACK_NAME", "paygate"),
            variables={k: env[k] for k in PARAMETER_OF if env.get(k) is not None},
        )

    @property
    def endpoint(self) -> str:
        return self.external_endpoint or f"http://{self.host}:{self.emulator_port}"

    def url(self, port: int) -> str:
        return f"http://localhost:{port}"


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Child:
    """A supervised process: restarted when it exits unexpectedly."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path | None) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.process: subprocess.Popen | None = None
        self.wanted = False

    def start(self) -> None:
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.args, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT if out else None
        )
        self.wanted = True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 5) -> None:
        self.wanted = False
        if self.running():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Runtime:
    """Starts, supervises and stops the local product."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.children: dict[str, Child] = {}
        self.deployment: dict = {}
        self.left_out: dict[str, str] = {}
        self.base_env = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"
        }
        self.base_env.update(LOCAL_CREDENTIALS)

    # ------------------------------------------------------------------ helpers
    def _log(self, name: str) -> Path | None:
        if self.config.log_dir is None:
            return None
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        return self.config.log_dir / f"{name}.log"

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, [sys.executable, *args], {**self.base_env, **env}, self._log(name))
        child.start()
        self.children[name] = child
        return child

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
            "WorkerStatusSource": "heartbeat",
            "AuthTokenSecret": os.environ.get("AUTH_TOKEN_SECRET") or secrets.token_urlsafe(32),
            "CorsAllowedOrigins": ",".join(origins),
        }
        params.update({PARAMETER_OF[k]: v for k, v in c.variables.items()})
        return params

    def _function_config(self, logical_id: str) -> dict:
        name = self.deployment["resources"][logical_id]
        # This runtime's own endpoint, not the process's: a test may run two stacks at once.
        client = boto3.client("lambda", endpoint_url=self.config.endpoint)
        return client.get_function_configuration(FunctionName=name)

    # ------------------------------------------------------------------ phases
    def start_emulator(self) -> None:
        c = self.config
        if c.external_endpoint:
            return
        self._spawn(
            "emulator",
            ["-m", "infra.local.emulator", "--host", c.host, "--port", str(c.emulator_port)],
            {},
        )
        wait_for_port(c.host, c.emulator_port, 15)

    def deploy_stack(self) -> None:
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.config.endpoint})
        self.deployment = deploy(self.config.stack_name, self._parameters())
        self.left_out = self.deployment["left_out"]
        if self.config.external_endpoint:
            # LocalStack would run the functions itself on these mappings; here the local
            # pollers consume the queues, so the endpoint's own mappings are switched off.
            client = boto3.client("lambda")
            for mapping in client.list_event_source_mappings()["EventSourceMappings"]:
                client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

    def start_api(self) -> None:
        config = self._function_config("ApiFunction")
        env = function_env(config, self.config.endpoint)
        env["PYTHONPATH"] = f"{LAYER_DIR}:{REPO / 'functions' / 'api'}:{REPO}"
        self._spawn(
            "api",
            [
                "-m",
                "infra.local.api_server",
                "--host",
                self.config.host,
                "--port",
                str(self.config.api_port),
            ],
            env,
        )

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
            config = self._function_config(logical_id)
            code_dir = REPO / resource["Properties"]["CodeUri"]
            env = function_env(config, self.config.endpoint)
            env["PYTHONPATH"] = f"{LAYER_DIR}:{code_dir}:{REPO}"
            for event in resource["Properties"]["Events"].values():
                if event["Type"] == "Schedule":
                    self._spawn(
                        f"schedule-{logical_id}",
                        [
                            "-m",
                            "infra.local.scheduler",
                            "--function-name",
                            config["FunctionName"],
                            "--code-dir",
                            str(code_dir),
                            "--handler",
                            config["Handler"],
                            "--schedule",
                            event["Properties"]["Schedule"],
                        ],
                        env,
                    )

    def start_workers(self) -> None:
        for logical_id, resource in self.worker_functions().items():
            config = self._function_config(logical_id)
            code_dir = REPO / resource["Properties"]["CodeUri"]
            env = function_env(config, self.config.endpoint)
            env["PYTHONPATH"] = f"{LAYER_DIR}:{code_dir}:{REPO}"
            self._spawn(
                f"worker-{logical_id}",
                [
                    "-m",
                    "infra.local.worker",
                    "--function-name",
                    config["FunctionName"],
                    "--code-dir",
                    str(code_dir),
                    "--handler",
                    config["Handler"],
                ],
                env,
            )

    def stop_workers(self, sig=signal.SIGTERM) -> None:
        for name, child in self.children.items():
            if name.startswith("worker-"):
                child.stop(sig)

    def start_static(self) -> None:
        c = self.config
        for site, port in (("checkout", c.checkout_port), ("dashboard", c.dashboard_port)):
            self._spawn(
                site,
                [
                    "-m",
                    "infra.local.static_server",
                    site,
                    "--host",
                    c.host,
                    "--port",
                    str(port),
                    "--api-url",
                    c.url(c.api_port),
                    "--checkout-url",
                    c.url(c.checkout_port),
                    # Read from the template here, once, not by each server at its start.
                    "--headers",
                    json.dumps(site_headers(site, c.url(c.api_port))),
                ],
                {"PYTHONPATH": str(REPO)},
            )

    def wait_ready(self, timeout: float = 30) -> dict:
        """Wait until /health says healthy (every part measured); returns its body."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                body = requests.get(
                    f"{self.config.url(self.config.api_port)}/health", timeout=2
                ).json()
                if body.get("status") == "healthy":
                    return body
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"not healthy after {timeout}s: {body}")

    def start(self) -> dict:
        self.start_emulator()
        self.deploy_stack()
        self.start_api()
        self.start_workers()
        self.start_schedules()
        self.start_static()
        return self.wait_ready()

    def supervise_once(self) -> None:
        """Restart any child that died while it was wanted. The emulator keeps its data in
        memory only, so when it dies everything is redeployed from scratch (data is lost)."""
        emulator = self.children.get("emulator")
        if emulator is not None and emulator.wanted and not emulator.running():
            print(
                "runtime: the emulator exited; its in-memory data is lost. Redeploying.", flush=True
            )
            self.stop()
            self.children.clear()
            self.start()
            return
        for child in self.children.values():
            if child.wanted and not child.running():
                print(
                    f"runtime: {child.name} exited ({child.process.returncode}); restarting",
                    flush=True,
                )
                child.start()

    def stop(self) -> None:
        order = [n for n in self.children if n != "emulator"] + ["emulator"]
        for name in order:
            if name in self.children:
                self.children[name].stop()


def main() -> None:
    config = RuntimeConfig.from_env()
    runtime = Runtime(config)
    stopping = False

    def on_signal(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        runtime.start()
        ready = time.monotonic() - started
        c = config
        print(f"\nPaygate is up (ready in {ready:.1f} s)")
        print(f"  API            {c.url(c.api_port)}   (try: curl {c.url(c.api_port)}/health)")
        checkout = c.url(c.checkout_port)
        print(f"  Checkout + SDK {checkout}/checkout.js  demo: {checkout}/demo")
        print(f"  Dashboard      {c.url(c.dashboard_port)}/login")
        print(f"  AWS endpoint   {c.endpoint}  (stack '{c.stack_name}')")
        if runtime.left_out:
            kinds = collections.Counter(runtime.left_out.values())
            print(
                "  Not deployed locally (the emulator cannot create them; Chalice's server stands "
                "in for API Gateway, the static servers on the site ports for CloudFront): "
                + ", ".join(f"{n} × {kind}" for kind, n in sorted(kinds.items()))
            )
        print("  Test merchant  X-Api-Key: key_test_abc123  X-Api-Secret: secret_test_xyz789")
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            runtime.supervise_once()
            time.sleep(0.5)
    finally:
        runtime.stop()
        print("Paygate stopped.", flush=True)


if __name__ == "__main__":
    main()
