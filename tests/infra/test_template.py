"""Infra contract tests on template.yaml: each fails if someone breaks what AWS relies on."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from infra.deploy import template as tpl

REPO = Path(__file__).resolve().parents[2]


def resources_of(template: dict, kind: str) -> dict:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_is_clean():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(REPO / "template.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_transform_succeeds(cfn):
    kinds = {r["Type"] for r in cfn["Resources"].values()}
    assert {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::ApiGateway::RestApi",
        "AWS::Lambda::LayerVersion",
    } <= kinds


def worker_queues(sam) -> dict[str, str]:
    """Function name -> queue logical id for every SQS event."""
    found = {}
    for name, fn in resources_of(sam, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                found[name] = event["Properties"]["Queue"]["Fn::GetAtt"][0]
    return found


def test_three_workers_each_on_its_queue(sam):
    assert set(worker_queues(sam)) == {
        "PaymentWorkerFunction",
        "RefundWorkerFunction",
        "WebhookWorkerFunction",
    }


def test_every_worker_queue_has_a_dlq_with_redrive(sam):
    queues = resources_of(sam, "AWS::SQS::Queue")
    for queue in worker_queues(sam).values():
        redrive = queues[queue]["Properties"].get("RedrivePolicy")
        assert redrive, f"{queue} has no RedrivePolicy"
        assert redrive["maxReceiveCount"] == 5
        dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert dlq in queues and "RedrivePolicy" not in queues[dlq]["Properties"]


def test_every_sqs_event_reports_batch_item_failures(sam):
    for name, fn in resources_of(sam, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                types = event["Properties"].get("FunctionResponseTypes", [])
                assert "ReportBatchItemFailures" in types, name


def test_visibility_timeout_covers_six_worker_timeouts(sam):
    default_timeout = sam["Globals"]["Function"]["Timeout"]
    queues = resources_of(sam, "AWS::SQS::Queue")
    functions = resources_of(sam, "AWS::Serverless::Function")
    for fn_name, queue in worker_queues(sam).items():
        timeout = functions[fn_name]["Properties"].get("Timeout", default_timeout)
        assert queues[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_api_function_is_chalice_with_one_event_per_route(sam):
    from app import app

    api = sam["Resources"]["ApiFunction"]["Properties"]
    assert api["Handler"] == "app.app"
    events = {
        (e["Properties"]["Path"], e["Properties"]["Method"].upper())
        for e in api["Events"].values()
        if e["Type"] == "Api"
    }
    assert not any("{proxy+}" in path for path, _ in events)
    routes = {(path, method) for path, methods in app.routes.items() for method in methods}
    routed = {(path, method) for path, method in events if method != "ANY"}
    assert routes == routed, {
        "missing in template": routes - routed,
        "not in Chalice": routed - routes,
    }


def test_every_path_sends_its_other_methods_to_the_function(sam):
    """API Gateway answers a method a resource lacks itself (403, our 404 envelope); an `ANY`
    event per path lets the function answer 405 with `Allow`, as openapi.yaml promises."""
    events = [
        e["Properties"] for e in sam["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    ]
    paths = {e["Path"] for e in events}
    with_any = {e["Path"] for e in events if e["Method"].upper() == "ANY"}
    assert paths == with_any, paths - with_any


def test_every_route_maps_errors_to_the_envelope():
    from app import app

    for path, methods in app.routes.items():
        for method, entry in methods.items():
            assert getattr(entry.view_function, "paygate_route", False), (path, method)


def test_chalice_is_a_runtime_dependency_of_the_api():
    assert "chalice==" in (REPO / "functions/api/requirements.txt").read_text()
    layer = (REPO / "layers/shared/requirements.txt").read_text()
    assert "pynamodb==" in layer and "aws-lambda-powertools==" in layer


def test_webhook_delivery_dependencies_ship_in_the_layer():
    """paygate.webhook_urls/webhook_transport import urllib3 and idna at run time."""
    layer = (REPO / "layers/shared/requirements.txt").read_text()
    dev = (REPO / "requirements.txt").read_text()
    for name in ("urllib3==", "idna=="):
        assert name in layer, name
        pin = next(line for line in layer.splitlines() if line.startswith(name))
        assert pin in dev.splitlines(), pin  # the same version locally and on Lambda


def test_private_webhook_targets_are_off_in_the_template_and_on_for_make_run(sam):
    from infra.local.runtime import PARAMETER_OF, Runtime, RuntimeConfig

    param = sam["Parameters"]["WebhookAllowPrivateTargets"]
    assert param["Default"] == "false"
    env = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert env["WEBHOOK_ALLOW_PRIVATE_TARGETS"] == {"Ref": "WebhookAllowPrivateTargets"}
    assert PARAMETER_OF["WEBHOOK_ALLOW_PRIVATE_TARGETS"] == "WebhookAllowPrivateTargets"
    assert Runtime(RuntimeConfig())._parameters()["WebhookAllowPrivateTargets"] == "true"
    refused = Runtime(RuntimeConfig(variables={"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}))
    assert refused._parameters()["WebhookAllowPrivateTargets"] == "false"


def test_webhook_worker_batches_end_well_inside_the_function_timeout(sam):
    """Records of a batch are delivered at once (each bounded to 5 s), so a batch of
    BatchSize records needs one attempt's time, not BatchSize of them."""
    source = (REPO / "functions/webhook_worker/handler.py").read_text()
    records_at_once = int(source.split("RECORDS_AT_ONCE = ", 1)[1].split()[0])
    fn = sam["Resources"]["WebhookWorkerFunction"]["Properties"]
    timeout = fn.get("Timeout", sam["Globals"]["Function"]["Timeout"])
    (event,) = fn["Events"].values()
    batch = event["Properties"]["BatchSize"]
    rounds = -(-batch // records_at_once)
    assert rounds * 5 + 2 <= timeout, (batch, records_at_once, timeout)


def key_schema(keys: list[dict]) -> list[tuple[str, str]]:
    return sorted((k["AttributeName"], k["KeyType"]) for k in keys)


def model_schema(attributes) -> list[tuple[str, str]]:
    return sorted(
        (a.attr_name, "HASH" if a.is_hash_key else "RANGE")
        for a in attributes
        if a.is_hash_key or a.is_range_key
    )


def test_pynamodb_keys_match_the_tables(sam):
    from pynamodb.indexes import GlobalSecondaryIndex

    from paygate.db import models

    tables = resources_of(sam, "AWS::DynamoDB::Table")
    env = sam["Globals"]["Function"]["Environment"]["Variables"]
    model_by_env = {
        "MERCHANTS_TABLE": models.MerchantModel,
        "ORDERS_TABLE": models.OrderModel,
        "PAYMENTS_TABLE": models.PaymentModel,
        "EVENTS_TABLE": models.EventModel,
        "COUNTERS_TABLE": models.CounterModel,
        "REFUNDS_TABLE": models.RefundModel,
        "WEBHOOK_LOGS_TABLE": models.WebhookLogModel,
        "WEBHOOK_ENDPOINTS_TABLE": models.WebhookEndpointModel,
    }
    for env_name, model in model_by_env.items():
        props = tables[env[env_name]["Ref"]]["Properties"]
        assert model_schema(model.get_attributes().values()) == key_schema(props["KeySchema"])
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        model_indexes = [v for v in vars(model).values() if isinstance(v, GlobalSecondaryIndex)]
        assert {i.Meta.index_name for i in model_indexes} == set(indexes), env_name
        for index in model_indexes:
            expected = key_schema(indexes[index.Meta.index_name]["KeySchema"])
            assert model_schema(index.Meta.attributes.values()) == expected, index.Meta.index_name


def test_idempotency_table_matches_powertools_and_expires(sam):
    props = sam["Resources"]["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_tables_are_pay_per_request(sam):
    for name, table in resources_of(sam, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST", name


def test_leaving_out_a_service_drops_only_it_and_what_refers_to_it(cfn):
    from tests.integration.moto_patches import CANNOT_CREATE

    stripped, dropped = tpl.without(copy.deepcopy(cfn), tpl.of_types(cfn, CANNOT_CREATE))
    kinds = {cfn["Resources"][name]["Type"] for name in dropped}
    assert kinds <= {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::Lambda::Permission",
        "AWS::CloudFront::Distribution",
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::Function",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::S3::BucketPolicy",
    }
    kept = {r["Type"] for r in stripped["Resources"].values()}
    assert "AWS::Lambda::EventSourceMapping" in kept and "AWS::SQS::Queue" in kept
    assert not any(tpl._references(v, set(dropped)) for v in stripped["Outputs"].values())


def test_removing_a_dlq_is_caught(sam):
    broken = copy.deepcopy(sam)
    del broken["Resources"]["PaymentQueue"]["Properties"]["RedrivePolicy"]
    with pytest.raises(AssertionError):
        test_every_worker_queue_has_a_dlq_with_redrive(broken)


def test_dropping_report_batch_item_failures_is_caught(sam):
    broken = copy.deepcopy(sam)
    event = broken["Resources"]["RefundWorkerFunction"]["Properties"]["Events"]
    next(iter(event.values()))["Properties"]["FunctionResponseTypes"] = []
    with pytest.raises(AssertionError):
        test_every_sqs_event_reports_batch_item_failures(broken)


def test_a_route_without_its_template_event_is_caught(sam):
    broken = copy.deepcopy(sam)
    del broken["Resources"]["ApiFunction"]["Properties"]["Events"]["Health"]
    with pytest.raises(AssertionError):
        test_api_function_is_chalice_with_one_event_per_route(broken)
