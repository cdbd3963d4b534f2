"""Deploy template.yaml as a CloudFormation stack into an AWS endpoint (MiniStack, LocalStack,
moto in-process).

For a real AWS account use `sam build && sam deploy --guided` (see README); this module takes the
same template through the same SAM transform for the local endpoints:

1. the code and the layer are zipped (bundled with their requirements when the endpoint runs the
   functions itself) and uploaded to the artifacts bucket under content-named keys;
2. the transformed template is uploaded there too and the stack is created or updated from its
   `TemplateURL` (CloudFormation refuses an inline `TemplateBody` over 51,200 bytes; ours is
   larger). An existing stack is updated in place, so its tables keep their data;
3. resources the endpoint cannot create are left out, with everything that refers to them, and
   reported: the types it does not recognise (its own validation says so) and resources whose
   creation fails as "not supported". Nothing is left out by name.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import secrets
import time
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from infra.deploy import template as tpl

ARTIFACTS_BUCKET = "paygate-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
_UNRECOGNIZED = re.compile(r"Unrecognized resource types?: \[([^\]]*)\]")
_NOT_SUPPORTED = re.compile(r"not supported|unsupported", re.IGNORECASE)
_LIVE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


class DeployError(RuntimeError):
    """The stack could not be created or updated; the message holds the endpoint's reasons."""


def template_url(s3_client, bucket: str, key: str) -> str:
    """A path-style URL of an object, as CloudFormation fetches it (works for AWS, MiniStack,
    LocalStack and moto)."""
    return f"{s3_client.meta.endpoint_url.rstrip('/')}/{bucket}/{key}"


def _stack_status(cfn, stack_name: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _wait(cfn, stack_name: str, timeout: float) -> tuple[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            return status, stack
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack_name} still {status} after {timeout:.0f} s")
        time.sleep(0.1)


def _failures(cfn, stack_name: str, since: float) -> list[dict]:
    """The resource events that failed in this attempt, oldest first."""
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    return [
        e
        for e in reversed(events)
        if e.get("ResourceStatus", "").endswith("_FAILED")
        and e.get("LogicalResourceId") != stack_name
        and e["Timestamp"].timestamp() >= since - 1
    ]


def _submit(cfn, stack_name: str, url: str, parameters: dict[str, str]) -> str:
    """Create the stack, or update it in place; returns 'create', 'update' or 'unchanged'."""
    args = {
        "StackName": stack_name,
        "TemplateURL": url,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": CAPABILITIES,
    }
    status = _stack_status(cfn, stack_name)
    if status is not None and status not in _LIVE:
        # A stack that never came up (ROLLBACK_COMPLETE, *_FAILED) cannot be updated.
        cfn.delete_stack(StackName=stack_name)
        with contextlib.suppress(ClientError):
            _wait(cfn, stack_name, 60)
        status = None
    if status is None:
        cfn.create_stack(**args)
        return "create"
    try:
        cfn.update_stack(**args)
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return "unchanged"
        raise
    return "update"


def deploy(
    stack_name: str,
    parameters: dict[str, str],
    *,
    bundle_python: str | None = None,
    leave_out: tuple[str, ...] = (),
    timeout: float = 300.0,
) -> dict:
    """Create or update the stack and wait for it; returns its outputs, resources and what was
    left out (logical id → type).

    `bundle_python`: the Python version the endpoint runs the functions on, when it runs them
    (the code is bundled with its requirements then). `leave_out`: resource types (or `AWS::X::`
    prefixes) to leave out up front, for an endpoint known to accept but mishandle them."""
    s3 = boto3.client("s3")
    cfn = boto3.client("cloudformation")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    packaged = tpl.package(tpl.load_template(), s3, ARTIFACTS_BUCKET, bundle_python)
    full = tpl.to_cloudformation(packaged, parameters)
    doomed = tpl.of_types(full, leave_out)
    reasons: dict[str, str] = {}
    for _ in range(len(full["Resources"]) + 1):
        template, left_out = tpl.without(json.loads(json.dumps(full)), doomed)
        body = json.dumps(template, sort_keys=True).encode()
        key = f"templates/{stack_name}-{hashlib.sha256(body).hexdigest()[:16]}.json"
        s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)
        started = time.time()
        try:
            action = _submit(cfn, stack_name, template_url(s3, ARTIFACTS_BUCKET, key), parameters)
        except ClientError as exc:
            unrecognized = _UNRECOGNIZED.search(str(exc))
            if not unrecognized:
                raise DeployError(f"stack {stack_name}: {exc}") from exc
            types = {t.strip() for t in unrecognized.group(1).split(",") if t.strip()}
            newly = tpl.of_types(template, types)
            if not newly:
                raise DeployError(f"stack {stack_name}: {exc}") from exc
            reasons.update({t: "type not recognised by the endpoint" for t in types})
            doomed |= newly
            continue
        if action == "unchanged":
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
            break
        status, stack = _wait(cfn, stack_name, timeout)
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            break
        failed = _failures(cfn, stack_name, started)
        unsupported = {
            e["LogicalResourceId"]: e.get("ResourceStatusReason", "")
            for e in failed
            if _NOT_SUPPORTED.search(e.get("ResourceStatusReason", ""))
            and e["LogicalResourceId"] in template["Resources"]
        }
        if not unsupported:
            detail = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in failed]
            # A template-wide failure (a dependency cycle, say) has no failed resource: its reason
            # is the stack's own.
            detail = detail or [stack.get("StackStatusReason", "no reason given")]
            raise DeployError(f"stack {stack_name} {status}: {detail[:5]}")
        for name, reason in unsupported.items():
            reasons[template["Resources"][name]["Type"]] = reason
        doomed |= set(unsupported)
    else:
        raise DeployError(f"stack {stack_name}: gave up leaving out unsupported resources")
    resources = [
        summary
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        for summary in page["StackResourceSummaries"]
    ]
    return {
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        "resources": {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources},
        "types": {r["LogicalResourceId"]: r["ResourceType"] for r in resources},
        "left_out": left_out,
        "reasons": reasons,
    }


def api_url(deployment: dict, endpoint: str | None) -> str | None:
    """The stack's API Gateway URL; on an emulator, the path-style URL it serves the stage at
    (`<endpoint>/_aws/execute-api/<api id>/<stage>`, which MiniStack and LocalStack answer)."""
    url = deployment["outputs"].get("ApiUrl")
    if not url or not endpoint:
        return url
    parts = urlsplit(url)
    api_id = parts.hostname.split(".")[0]
    stage = parts.path.strip("/")
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack-name", default="paygate")
    parser.add_argument("--bundle-python", help="bundle dependencies for this Python (3.12)")
    parser.add_argument("--param", action="append", default=[], help="Key=Value")
    args = parser.parse_args()
    params = dict(p.split("=", 1) for p in args.param)
    params.setdefault("AuthTokenSecret", secrets.token_urlsafe(32))
    result = deploy(args.stack_name, params, bundle_python=args.bundle_python)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
