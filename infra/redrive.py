"""Move dead-lettered job messages back to their queues: `make redrive` or

    python -m infra.redrive [--stack paygate] [--queue payment|refund|webhook|all]

The queues are the stack's outputs (`PaymentQueueUrl`, …); the dead-letter queue of each comes
from its RedrivePolicy. Locally `make redrive` points at the running emulator; against AWS run it
with your credentials and no AWS_ENDPOINT_URL. SQS StartMessageMoveTask is used where the
endpoint has it, else each message is received, re-sent and then deleted. Moving a message back
is always safe: settling a payment or processing a refund is conditional on it being `pending`,
and a webhook log is created once per event.
"""

from __future__ import annotations

import argparse
import sys

import boto3

from paygate.queues import Queue, redrive

OUTPUTS = {"payment": "PaymentQueueUrl", "refund": "RefundQueueUrl", "webhook": "WebhookQueueUrl"}


def stack_queues(stack: str) -> dict[str, Queue]:
    """The work queues of a deployed stack, by kind."""
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return {kind: Queue(outputs[key]) for kind, key in OUTPUTS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="paygate", help="CloudFormation stack name")
    parser.add_argument("--queue", default="all", choices=[*OUTPUTS, "all"])
    args = parser.parse_args(argv)
    queues = stack_queues(args.stack)
    for kind in OUTPUTS if args.queue == "all" else [args.queue]:
        moved, how = redrive(queues[kind])
        print(f"{kind}: moved {moved} message(s) back from the dead-letter queue ({how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
