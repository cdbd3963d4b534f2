"""One consumer per queue and per schedule: the local pollers and scheduler refuse to run while
the endpoint's own mappings or rules are on (infra.deploy.consumers switches them off)."""

from __future__ import annotations

import pytest

from infra.deploy import consumers
from infra.local.scheduler import check_rules_disabled
from infra.local.worker import owned_mappings


class FakeLambda:
    def __init__(self, states: list[str]) -> None:
        self.states = states

    def list_event_source_mappings(self, FunctionName):  # noqa: N803 - boto3's names
        return {
            "EventSourceMappings": [
                {"UUID": f"m{i}", "State": s, "EventSourceArn": "arn:aws:sqs:us-east-1:0:q"}
                for i, s in enumerate(self.states)
            ]
        }

    def get_function_configuration(self, FunctionName):  # noqa: N803
        return {"FunctionArn": f"arn:aws:lambda:us-east-1:0:function:{FunctionName}"}


class FakeEvents:
    def __init__(self, states: dict[str, str]) -> None:
        self.states = states

    def list_rule_names_by_target(self, TargetArn):  # noqa: N803
        return {"RuleNames": list(self.states)}

    def describe_rule(self, Name):  # noqa: N803
        return {"State": self.states[Name]}


def test_the_worker_polls_mappings_the_endpoint_switched_off():
    assert [m["UUID"] for m in owned_mappings(FakeLambda(["Disabled", "Disabled"]), "f")] == [
        "m0",
        "m1",
    ]


@pytest.mark.parametrize("state", ["Enabled", "Enabling", "Disabling"])
def test_the_worker_refuses_a_mapping_the_endpoint_still_runs(state):
    with pytest.raises(SystemExit, match="refusing"):
        owned_mappings(FakeLambda(["Disabled", state]), "f")


def test_the_scheduler_refuses_an_enabled_rule():
    check_rules_disabled(FakeLambda([]), FakeEvents({"r": "DISABLED"}), "f")
    with pytest.raises(SystemExit, match="refusing"):
        check_rules_disabled(FakeLambda([]), FakeEvents({"r": "DISABLED", "s": "ENABLED"}), "f")


def test_triggers_are_found_by_type_not_by_name():
    deployment = {
        "types": {
            "AnyNameA": consumers.MAPPING,
            "AnyNameB": consumers.RULE,
            "Table": "AWS::DynamoDB::Table",
        },
        "resources": {"AnyNameA": "uuid-1", "AnyNameB": "rule-1", "Table": "t"},
    }
    assert consumers.stack_triggers(deployment) == (["uuid-1"], ["rule-1"])


def test_there_are_exactly_two_consumers_to_choose_from():
    with pytest.raises(ValueError):
        consumers.hand_to("both", {"types": {}, "resources": {}})
