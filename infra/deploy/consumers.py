"""One rule for who consumes the queues and fires the schedules of a deployed stack.

Either the endpoint does it (its event source mappings feed the worker functions and its
schedule rules invoke the scheduled ones, as on AWS: `make run-stack`, `make deploy-localstack`),
or the local runtime does it (its pollers and scheduler run the same handlers in local processes:
`make run`, on the embedded MiniStack or on any `AWS_ENDPOINT`). Never both: two consumers would
split the messages between two copies of the code, and the endpoint's copy may not even be
runnable (unbundled code). Never neither: messages would wait forever.

So after every deploy the runtime sets the state of every mapping and schedule rule *of the stack*
(found through its resources, whatever the endpoint) to what the chosen consumer needs, and checks
that the endpoint reports that state before anything starts.
"""

from __future__ import annotations

import time

import boto3

EMULATOR = "emulator"  # the endpoint's mappings and rules drive the functions
RUNTIME = "runtime"  # the runtime's pollers and scheduler do

MAPPING = "AWS::Lambda::EventSourceMapping"
RULE = "AWS::Events::Rule"


def stack_triggers(deployment: dict) -> tuple[list[str], list[str]]:
    """(event source mapping UUIDs, schedule rule names) of the deployed stack."""
    types, physical = deployment["types"], deployment["resources"]
    mappings = [physical[name] for name, kind in types.items() if kind == MAPPING]
    rules = [physical[name] for name, kind in types.items() if kind == RULE]
    return mappings, rules


def set_triggers(
    deployment: dict, enabled: bool, *, rules: bool = True, timeout: float = 30.0
) -> None:
    """Enable or disable every mapping (and, with `rules`, every rule) of the stack and wait until
    the endpoint reports it (AWS moves a mapping through Enabling/Disabling first)."""
    mappings, rule_names = stack_triggers(deployment)
    if not rules:
        rule_names = []
    lambda_client, events = boto3.client("lambda"), boto3.client("events")
    for uuid in mappings:
        current = lambda_client.get_event_source_mapping(UUID=uuid)["State"]
        if (current == "Enabled") != enabled:
            lambda_client.update_event_source_mapping(UUID=uuid, Enabled=enabled)
    for name in rule_names:
        (events.enable_rule if enabled else events.disable_rule)(Name=name)
    want_mapping, want_rule = ("Enabled", "ENABLED") if enabled else ("Disabled", "DISABLED")
    deadline = time.monotonic() + timeout
    while True:
        states = [lambda_client.get_event_source_mapping(UUID=u)["State"] for u in mappings]
        rule_states = [events.describe_rule(Name=n)["State"] for n in rule_names]
        if all(s == want_mapping for s in states) and all(s == want_rule for s in rule_states):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the endpoint did not reach {want_mapping}: mappings {states}, rules "
                f"{rule_states}; the queues would have {'no' if enabled else 'two'} consumers"
            )
        time.sleep(0.2)


def set_mappings(deployment: dict, enabled: bool) -> None:
    """Only the queues' side: switch the stack's event source mappings on or off."""
    set_triggers(deployment, enabled, rules=False)


def hand_to(consumer: str, deployment: dict) -> None:
    """Make `consumer` (EMULATOR or RUNTIME) the only one driving the stack's functions."""
    if consumer not in (EMULATOR, RUNTIME):
        raise ValueError(f"unknown consumer {consumer!r}")
    set_triggers(deployment, enabled=consumer == EMULATOR)
