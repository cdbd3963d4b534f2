"""Deploy the whole template to an endpoint that runs the functions itself (`make
deploy-localstack`): LocalStack, or a MiniStack started by hand.

As `make run-stack` does: code bundled with its requirements for python3.12 (the template's
runtime), the stack created or updated from its TemplateURL, the test merchant seeded, and the
endpoint's event source mappings and schedule rules left to drive the functions
(infra.deploy.consumers). Needs AWS_ENDPOINT_URL pointing at the endpoint.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import boto3
import localstack_client.session  # noqa: F401 - documents the dependency; endpoints come from env

from infra.deploy import consumers
from infra.deploy.stack import api_url, deploy
from infra.local.lambda_runtime import LAYER_DIR, REPO, function_env

TEMPLATE_PYTHON = "3.12"


def main() -> None:
    os.environ.setdefault("AWS_ENDPOINT_URL", "http://localhost:4566")
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(key, value)
    parameters = {
        "AuthTokenSecret": os.environ.get("AUTH_TOKEN_SECRET") or secrets.token_urlsafe(32),
        "TestMode": os.environ.get("TEST_MODE", "false"),
        "DemoLogin": os.environ.get("DEMO_LOGIN", "true"),
        "LocalMode": "true",
        "WebhookAllowPrivateTargets": os.environ.get("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
    }
    stack = os.environ.get("STACK_NAME", "paygate")
    result = deploy(stack, parameters, bundle_python=TEMPLATE_PYTHON, timeout=600)
    consumers.hand_to(consumers.EMULATOR, result)
    api = boto3.client("lambda").get_function_configuration(
        FunctionName=result["resources"]["ApiFunction"]
    )
    env = {**os.environ, **function_env(api, os.environ["AWS_ENDPOINT_URL"])}
    env["PYTHONPATH"] = f"{LAYER_DIR}:{REPO / 'functions' / 'api'}:{REPO}"
    subprocess.run([sys.executable, "-m", "infra.local.seed"], env=env, cwd=REPO, check=True)
    print(json.dumps(result["outputs"], indent=2))
    print(f"API: {api_url(result, os.environ['AWS_ENDPOINT_URL'])}")
    if result["left_out"]:
        print(f"Not deployed (the endpoint cannot create them): {result['left_out']}")


if __name__ == "__main__":
    main()
