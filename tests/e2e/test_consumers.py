"""Who drives the functions of the running stack: in `make run` the local pollers and scheduler,
with the endpoint's mappings and rules off; in `make run-stack` the endpoint, with no local
pollers. Never both, never neither."""

from __future__ import annotations

import boto3

from infra.deploy import consumers


def test_one_consumer_per_queue_and_per_schedule(stack):
    runtime = stack.runtime
    mappings, rules = consumers.stack_triggers(runtime.deployment)
    assert len(mappings) == len(runtime.worker_functions()) and rules
    lambda_client, events = boto3.client("lambda"), boto3.client("events")
    states = {lambda_client.get_event_source_mapping(UUID=u)["State"] for u in mappings}
    rule_states = {events.describe_rule(Name=n)["State"] for n in rules}
    local_pollers = {n for n, c in runtime.children.items() if n.startswith("worker-")}
    local_schedules = {n for n, c in runtime.children.items() if n.startswith("schedule-")}
    if stack.mode == "local":
        assert states == {"Disabled"} and rule_states == {"DISABLED"}
        assert len(local_pollers) == len(mappings)
        assert all(runtime.children[n].running() for n in local_pollers | local_schedules)
        assert local_schedules
    else:
        assert states == {"Enabled"} and rule_states == {"ENABLED"}
        assert not local_pollers and not local_schedules
