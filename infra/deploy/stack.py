"""Deploy template.yaml as a CloudFormation stack into an AWS endpoint (moto, LocalStack).

For a real AWS account use `sam build && sam deploy --guided` (see README); this module is the
same template taken through the same SAM transform for the local endpoints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from infra.deploy import template as tpl

ARTIFACTS_BUCKET = "paygate-artifacts"


def _bundle_dependencies(template: dict) -> dict:
    """For endpoints that run the functions themselves (LocalStack): install each function's and
    the layer's requirements.txt next to the code, as `sam build` does, into a build folder."""
    build = Path(tempfile.mkdtemp(prefix="paygate-build-"))
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            uri = props.get(key)
            if not isinstance(uri, str) or uri.startswith("s3://"):
                continue
            source = tpl.REPO / uri
            target = build / name
            subprocess.run(["cp", "-r", str(source), str(target)], check=True)
            requirements = source / "requirements.txt"
            if requirements.exists():
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "-r",
                        str(requirements),
                        "--target",
                        str(target),
                        "--platform",
                        "manylinux2014_x86_64",
                        "--python-version",
                        "3.12",
                        "--only-binary=:all:",
                    ],
                    check=True,
                )
            props[key] = str(target)
    return template


def deploy(
    stack_name: str,
    parameters: dict[str, str],
    full: bool = False,
    bundle: bool = False,
    timeout: float = 120.0,
) -> dict:
    """Create (or replace) the stack and wait for it; returns outputs, resources and what the
    emulator had to leave out. `full` keeps API Gateway and CloudFront (LocalStack)."""
    s3 = boto3.client("s3")
    cfn = boto3.client("cloudformation")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    template = tpl.load_template()
    if bundle:
        template = _bundle_dependencies(template)
    template = tpl.package(template, s3, ARTIFACTS_BUCKET)
    template = tpl.to_cloudformation(template, parameters)
    left_out: dict[str, str] = {}
    if not full:
        template, left_out = tpl.without_unsupported(template)
    existing = [
        s["StackName"]
        for s in cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"]).get("StackSummaries", [])
    ]
    if stack_name in existing:
        cfn.delete_stack(StackName=stack_name)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if status.endswith("FAILED") or "ROLLBACK" in status or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
            reasons = [
                e.get("ResourceStatusReason") for e in events if e.get("ResourceStatusReason")
            ]
            raise RuntimeError(f"stack {stack_name} {status}: {reasons[:5]}")
        time.sleep(0.2)
    resources = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    return {
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        "resources": {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources},
        "left_out": left_out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack-name", default="paygate")
    parser.add_argument("--full", action="store_true", help="keep API Gateway and CloudFront")
    parser.add_argument("--bundle", action="store_true", help="install dependencies into the code")
    parser.add_argument("--param", action="append", default=[], help="Key=Value")
    args = parser.parse_args()
    params = dict(p.split("=", 1) for p in args.param)
    params.setdefault("AuthTokenSecret", secrets.token_urlsafe(32))
    result = deploy(args.stack_name, params, full=args.full, bundle=args.bundle)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
