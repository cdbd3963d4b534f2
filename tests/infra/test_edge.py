"""The stack's edge, as a security review reads template.yaml: private buckets behind CloudFront
over HTTPS with the stack's own security headers, CORS for exactly the two sites, gateway
error bodies that are valid JSON, alarms on every dead-letter queue, and a local deploy that
leaves out only what the emulator cannot create."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.deploy import template as tpl
from infra.deploy.site_headers import security_headers
from infra.local.static_server import dashboard_object_key

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = {"dashboard": "DashboardDistribution", "checkout": "SdkDistribution"}
API_ORIGIN = "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def of_type(template: dict, kind: str) -> dict:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def distribution(sam, site: str) -> dict:
    return sam["Resources"][DISTRIBUTIONS[site]]["Properties"]["DistributionConfig"]


def csp_directives(csp: str) -> dict[str, list[str]]:
    directives = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


# ---------------------------------------------------------------------------- buckets
def test_every_bucket_is_private(sam):
    buckets = of_type(sam, "AWS::S3::Bucket")
    assert {"DashboardBucket", "SdkBucket"} <= set(buckets)
    for name, bucket in buckets.items():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(
            block[k]
            for k in (
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            )
        ), name
        assert "WebsiteConfiguration" not in bucket["Properties"], name


def test_no_bucket_policy_lets_anyone_but_its_distribution_read(sam):
    policies = of_type(sam, "AWS::S3::BucketPolicy")
    readers = {}
    for name, policy in policies.items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}, name
            source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
            readers[policy["Properties"]["Bucket"]["Ref"]] = re.search(
                r"distribution/\$\{(\w+)\}", source
            ).group(1)
    assert readers == {"DashboardBucket": "DashboardDistribution", "SdkBucket": "SdkDistribution"}


@pytest.mark.parametrize("site", sorted(DISTRIBUTIONS))
def test_each_distribution_reads_its_bucket_through_origin_access_control(sam, site):
    config = distribution(sam, site)
    (origin,) = config["Origins"]
    bucket = origin["DomainName"]["Fn::GetAtt"][0]
    assert bucket in {"DashboardBucket", "SdkBucket"}
    oac = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    signing = sam["Resources"][oac]["Properties"]["OriginAccessControlConfig"]
    assert signing["SigningBehavior"] == "always" and signing["SigningProtocol"] == "sigv4"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


# ---------------------------------------------------------------------------- HTTPS + headers
@pytest.mark.parametrize("site", sorted(DISTRIBUTIONS))
def test_both_distributions_redirect_to_https_with_the_stacks_headers(sam, site):
    config = distribution(sam, site)
    behaviors = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    for behavior in behaviors:
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        policy = behavior["ResponseHeadersPolicyId"]
        assert set(policy) == {"Ref"}, "the stack's own policy, not a managed one"
        assert sam["Resources"][policy["Ref"]]["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    headers = security_headers(DISTRIBUTIONS[site], "https://api.example", sam)
    max_age = int(re.match(r"max-age=(\d+)", headers["Strict-Transport-Security"]).group(1))
    assert max_age >= 31536000 and "includeSubDomains" in headers["Strict-Transport-Security"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"no-referrer", "strict-origin-when-cross-origin"}
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]


def test_the_dashboard_may_not_be_framed_and_talks_only_to_the_api(sam):
    headers = security_headers("DashboardDistribution", "https://api.example", sam)
    assert headers["X-Frame-Options"] == "DENY"
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'", "https://api.example"]


def test_the_checkout_stays_embeddable_and_talks_only_to_the_api(sam):
    """Card entry: scripts only from itself, connections only to the API; framable by
    merchants' pages (the SDK's iframe), so no X-Frame-Options and no frame-ancestors 'none'."""
    headers = security_headers("SdkDistribution", "https://api.example", sam)
    assert "X-Frame-Options" not in headers
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["https://api.example"]
    assert "'none'" not in csp.get("frame-ancestors", []) and "https:" in csp["frame-ancestors"]
    assert csp["form-action"] == ["'none'"]  # a card form never submits by itself


@pytest.mark.parametrize("policy", ["DashboardHeadersPolicy", "CheckoutHeadersPolicy"])
def test_the_csp_names_the_stacks_own_api(sam, policy):
    config = sam["Resources"][policy]["Properties"]["ResponseHeadersPolicyConfig"]
    text, variables = config["SecurityHeadersConfig"]["ContentSecurityPolicy"][
        "ContentSecurityPolicy"
    ]["Fn::Sub"]
    assert variables == {"ApiOrigin": {"Fn::Sub": API_ORIGIN}}
    assert "${ApiOrigin}" in text and len(text) < 1783  # CloudFront's CSP length limit


def test_the_api_url_output_is_an_origin_the_csp_allows(sam):
    api_url = sam["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert api_url.startswith("https://${PaygateApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/")
    assert API_ORIGIN.replace("*", "${PaygateApi}") + "/" in api_url


@pytest.mark.parametrize("site", sorted(DISTRIBUTIONS))
def test_site_urls_are_https_cloudfront(sam, site):
    output = {"dashboard": "DashboardUrl", "checkout": "SdkUrl"}[site]
    assert sam["Outputs"][output]["Value"] == {
        "Fn::Sub": f"https://${{{DISTRIBUTIONS[site]}.DomainName}}"
    }


# ---------------------------------------------------------------------------- dashboard paths
PATHS = [
    "/",
    "/login",
    "/login/",
    "/dashboard",
    "/dashboard/",
    "/dashboard/transactions",
    "/dashboard/webhooks/",
    "/dashboard/docs",
    "/dashboard/index.html",
    "/assets/api.js",
    "/assets/favicon.svg",
    "/config.js",
    "/openapi.yaml",
    "/404.html",
    "/nope",
    "/dashboard/nope.v2/x",
    "/a.b/c",
]


def run_cloudfront_function(code: str, uris: list[str]) -> list[str]:
    """The function's handler run by Node.js on viewer requests for `uris`."""
    node = shutil.which("node")
    assert node, "Node.js runs the CloudFront Function in this test (apt-get install nodejs)"
    script = (
        code
        + "\nconst uris = JSON.parse(process.argv[1]);"
        + "\nconsole.log(JSON.stringify(uris.map(u => handler({request: {uri: u}}).uri)));"
    )
    result = subprocess.run(
        [node, "-e", script, json.dumps(uris)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_dashboard_function_and_the_local_server_map_paths_alike(sam):
    function = sam["Resources"]["DashboardPathsFunction"]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    config = distribution(sam, "dashboard")
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"]["Fn::GetAtt"][0] == "DashboardPathsFunction"
    on_cloudfront = run_cloudfront_function(function["FunctionCode"], PATHS)
    assert on_cloudfront == [dashboard_object_key(p) for p in PATHS]


def test_every_dashboard_page_is_reachable_by_its_path(sam):
    site = REPO / "dashboard_static"
    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    paths = ["/" + p if p != "." else "/" for p in pages]
    assert {"/login", "/dashboard", "/dashboard/webhooks"} <= set(paths)
    code = sam["Resources"]["DashboardPathsFunction"]["Properties"]["FunctionCode"]
    for path, key in zip(paths, run_cloudfront_function(code, paths), strict=True):
        assert (site / key.lstrip("/")).is_file(), (path, key)


def test_missing_pages_answer_404_with_the_sites_page(sam):
    errors = {e["ErrorCode"]: e for e in distribution(sam, "dashboard")["CustomErrorResponses"]}
    assert set(errors) == {403, 404}  # a private bucket says 403 for a missing key
    for error in errors.values():
        assert error["ResponseCode"] == 404 and error["ResponsePagePath"] == "/404.html"
    assert (REPO / "dashboard_static" / "404.html").is_file()


# ---------------------------------------------------------------------------- CORS
def test_cors_origins_are_the_two_distributions_and_the_parameter(sam):
    env = sam["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    separator, items = env["CORS_ALLOWED_ORIGINS"]["Fn::Join"]
    assert separator == ","
    assert items == [
        {"Fn::Sub": "https://${DashboardDistribution.DomainName}"},
        {"Fn::Sub": "https://${SdkDistribution.DomainName}"},
        {"Fn::If": ["HasExtraOrigins", {"Ref": "CorsAllowedOrigins"}, {"Ref": "AWS::NoValue"}]},
    ]
    assert sam["Conditions"]["HasExtraOrigins"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CorsAllowedOrigins"}, ""]}]
    }
    assert sam["Parameters"]["CorsAllowedOrigins"]["Default"] == ""


# ---------------------------------------------------------------------------- gateway responses
# What API Gateway puts in a gateway response's $context variables, hostile ones included:
# messageString is $context.error.message already quoted (and escaped) as a JSON string.
CONTEXT = {
    "$context.error.messageString": json.dumps('Invalid request: "body" too \\ large\n'),
    "$context.error.message": "Missing Authentication Token",
    "$context.error.responseType": "DEFAULT_4XX",
    "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "$context.extendedRequestId": "AbCdEfGhIjKlMnO=",
    "$context.path": "/api/stage/unknown",
    "$context.httpMethod": "POST",
    "$context.identity.sourceIp": "203.0.113.7",
}


def render_gateway_template(text: str) -> str:
    """Fill a response template as API Gateway does: `$context.*` replaced by its value."""
    for name in sorted(CONTEXT, key=len, reverse=True):
        text = text.replace(name, CONTEXT[name])
    assert "$context" not in text, f"a variable this test does not know: {text}"
    return text


def test_every_gateway_response_renders_valid_json_in_the_envelope(sam):
    from chalicelib.errors import STATUS_BY_CODE

    responses = sam["Resources"]["PaygateApi"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED"} <= set(
        responses
    )
    for kind, response in responses.items():
        for content_type, template in response["ResponseTemplates"].items():
            assert content_type == "application/json"
            body = json.loads(render_gateway_template(template))
            error = body["error"]
            assert set(error) <= {"code", "description", "request_id"}, kind
            assert error["code"] in STATUS_BY_CODE and error["description"], kind
            assert error["request_id"] == CONTEXT["$context.requestId"], kind
    described = json.loads(
        render_gateway_template(responses["DEFAULT_4XX"]["ResponseTemplates"]["application/json"])
    )
    assert described["error"]["description"] == 'Invalid request: "body" too \\ large\n'


def test_a_template_that_quotes_message_string_again_is_caught():
    broken = '{"error":{"code":"BAD_REQUEST_ERROR","description":"$context.error.messageString"}}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(render_gateway_template(broken))


# ---------------------------------------------------------------------------- alarms
def dlqs(sam) -> set[str]:
    queues = of_type(sam, "AWS::SQS::Queue")
    return {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }


def test_every_dlq_alarms_on_depth_and_age(sam):
    alarms = of_type(sam, "AWS::CloudWatch::Alarm")
    watched: dict[str, set[str]] = {}
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["Namespace"] == "AWS/SQS", name
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "QueueName"
        queue = dimension["Value"]["Fn::GetAtt"]
        assert queue[1] == "QueueName"
        watched.setdefault(queue[0], set()).add(props["MetricName"])
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        if props["MetricName"] == "ApproximateNumberOfMessagesVisible":
            assert props["Threshold"] == 0  # the first dead letter alarms
        else:
            assert props["MetricName"] == "ApproximateAgeOfOldestMessage"
            assert props["Threshold"] == {"Ref": "DlqMaxAgeSeconds"}
        for actions in ("AlarmActions", "OKActions"):
            assert props[actions] == {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            }
    both = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert watched == {dlq: both for dlq in dlqs(sam)}
    assert len(watched) == 3


def test_the_alarm_topic_is_optional(sam):
    assert sam["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert sam["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }


def test_a_dlq_without_an_alarm_is_caught(sam):
    broken = copy.deepcopy(sam)
    del broken["Resources"]["RefundDLQAgeAlarm"]
    with pytest.raises(AssertionError):
        test_every_dlq_alarms_on_depth_and_age(broken)


# ---------------------------------------------------------------------------- local deploy
def test_without_cloudfront_the_api_keeps_its_other_origins(cfn):
    stripped, dropped = tpl.without(
        copy.deepcopy(cfn), tpl.of_types(cfn, ("AWS::ApiGateway::", "AWS::CloudFront::"))
    )
    assert {"DashboardDistribution", "SdkDistribution", "DashboardBucketPolicy"} <= set(dropped)
    api = stripped["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["CORS_ALLOWED_ORIGINS"] == {
        "Fn::Join": [
            ",",
            [
                {
                    "Fn::If": [
                        "HasExtraOrigins",
                        {"Ref": "CorsAllowedOrigins"},
                        {"Ref": "AWS::NoValue"},
                    ]
                }
            ],
        ]
    }
    assert "DashboardUrl" not in stripped["Outputs"] and "SdkUrl" not in stripped["Outputs"]
    assert {"DashboardBucket", "SdkBucket", "PaymentDLQDepthAlarm"} <= set(stripped["Resources"])


def test_an_emulator_lacking_one_type_leaves_out_what_needs_it_only(cfn):
    """E.g. an emulator that creates distributions but not response headers policies: the
    distributions that use them and their bucket policies go, everything else stays."""
    stripped, dropped = tpl.without(
        copy.deepcopy(cfn), tpl.of_types(cfn, ("AWS::CloudFront::ResponseHeadersPolicy",))
    )
    assert set(dropped) == {
        "DashboardHeadersPolicy",
        "CheckoutHeadersPolicy",
        "DashboardDistribution",
        "SdkDistribution",
        "DashboardBucketPolicy",
        "SdkBucketPolicy",
    }
    kept = stripped["Resources"]
    assert {"ApiFunction", "DashboardPathsFunction", "DashboardOriginAccessControl"} <= set(kept)
    assert "PaygateApi" in kept
    stripped, dropped = tpl.without(copy.deepcopy(cfn), set())
    assert dropped == {} and stripped["Resources"].keys() == cfn["Resources"].keys()


# ---------------------------------------------------------------------------- dependency graph
def _dependencies(node, names: set[str]) -> set[str]:
    """Logical ids `node` refers to (Ref, GetAtt, ${Name} in Sub, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _dependencies(item, names)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= _dependencies(value[1], names)
            else:
                found |= _dependencies(value, names)
    return found & names


def _cycle(resources: dict) -> list[str] | None:
    names = set(resources)
    edges = {
        name: _dependencies(res.get("Properties", {}), names)
        | set(
            [res["DependsOn"]]
            if isinstance(res.get("DependsOn"), str)
            else res.get("DependsOn", [])
        )
        for name, res in resources.items()
    }
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                return path + [name, target]
            if target not in state and (found := visit(target, path + [name])):
                return found
        state[name] = 2
        return None

    for name in sorted(names):
        if name not in state and (found := visit(name, [])):
            return found
    return None


def test_the_deployed_template_has_no_dependency_cycle(cfn):
    """CloudFormation refuses a cycle at create time (the emulator's run-stack deploy found one:
    the API function names the distributions for CORS, so nothing they use may name the API)."""
    assert _cycle(cfn["Resources"]) is None, _cycle(cfn["Resources"])


def test_the_cycle_check_finds_a_cycle(cfn):
    broken = copy.deepcopy(cfn["Resources"])
    policy = broken["CheckoutHeadersPolicy"]["Properties"]
    policy["Probe"] = {"Ref": "PaygateApi"}
    assert _cycle(broken) is not None
