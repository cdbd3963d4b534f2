"""Deploy the whole template to LocalStack (`make deploy-localstack`).

Unlike the embedded runtime, nothing is left out: LocalStack creates the API Gateway REST API
and runs the functions itself, so the code is bundled with its dependencies first.
Needs a running LocalStack (localstack-compose.yml) and AWS_ENDPOINT_URL pointing at it.
"""

from __future__ import annotations

import json
import os
import secrets

import localstack_client.session  # noqa: F401 - documents the dependency; endpoints come from env

from infra.deploy.stack import deploy


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
    result = deploy(
        os.environ.get("STACK_NAME", "paygate"), parameters, full=True, bundle=True, timeout=600
    )
    print(json.dumps(result["outputs"], indent=2))


if __name__ == "__main__":
    main()
