"""Load template.yaml, package its local code paths to S3 and turn SAM into CloudFormation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from botocore.exceptions import ClientError
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from infra.deploy import bundle

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"


class _NoManagedPolicies(ManagedPolicyLoader):
    """The template only uses SAM policy templates and inline statements: no IAM look-up."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)

    def load(self) -> dict[str, str]:
        return {}


def load_template(path: Path = TEMPLATE) -> dict:
    """The SAM template as a dict (CloudFormation short tags expanded)."""
    return yaml_parse(path.read_text())


def package(template: dict, s3_client, bucket: str, python_version: str | None = None) -> dict:
    """Upload each local CodeUri/ContentUri as a zip to `bucket` and point the template at it,
    as `sam package` does (layers are nested under python/, where Lambda looks for them). With
    `python_version`, each zip holds its requirements too, as `sam build` makes them
    (infra.deploy.bundle). Keys name the content, so unchanged code is neither uploaded again nor
    seen as a change by a stack update."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for key, prefix in (("CodeUri", ""), ("ContentUri", "python/")):
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                body = bundle.code_zip(REPO / uri, prefix, python_version)
                s3_key = f"{name}-{hashlib.sha256(body).hexdigest()[:16]}.zip"
                if not _exists(s3_client, bucket, s3_key):
                    s3_client.put_object(Bucket=bucket, Key=s3_key, Body=body)
                props[key] = f"s3://{bucket}/{s3_key}"
    return template


def _exists(s3_client, bucket: str, key: str) -> bool:
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def to_cloudformation(template: dict, parameters: dict[str, str]) -> dict:
    """Run the SAM transform (aws-sam-translator) over a packaged template."""
    return transform(template, parameters, _NoManagedPolicies())


def _references(node, names: set[str]) -> bool:
    text = json.dumps(node)
    return any(
        f'"Ref": "{n}"' in text
        or f'"Fn::GetAtt": ["{n}"' in text
        or f"${{{n}" in text
        or f'"Fn::GetAtt": "{n}.' in text
        for n in names
    )


def _without_joined_references(node, names: set[str]):
    """`node` with every `Fn::Join` list item that refers to `names` left out: a joined list
    (such as the allowed CORS origins) loses the values that cannot exist, the rest stays."""
    if isinstance(node, list):
        return [_without_joined_references(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::Join"} and isinstance(node["Fn::Join"], list):
        separator, items = node["Fn::Join"]
        if isinstance(items, list):
            kept = [_without_joined_references(i, names) for i in items]
            return {"Fn::Join": [separator, [i for i in kept if not _references(i, names)]]}
    return {key: _without_joined_references(value, names) for key, value in node.items()}


def without(template: dict, doomed: set[str]) -> tuple[dict, dict[str, str]]:
    """Drop the resources named in `doomed` and everything that needs them (and the outputs
    that do); returns the template and the logical ids left out with their types. A resource
    whose only references to them are items of a joined list keeps the other items; any other
    reference leaves the resource out too."""
    resources = template["Resources"]
    dropped = {name for name in doomed if name in resources}
    kept: dict[str, dict] = {}
    while True:
        kept = {
            name: _without_joined_references(res, dropped)
            for name, res in resources.items()
            if name not in dropped
        }
        more = {name for name, res in kept.items() if _references(res, dropped)}
        if not more:
            break
        dropped |= more
    template["Resources"] = kept
    template["Outputs"] = {
        k: v for k, v in template.get("Outputs", {}).items() if not _references(v, dropped)
    }
    return template, {name: resources[name]["Type"] for name in sorted(dropped)}


def of_types(template: dict, types: set[str] | tuple[str, ...]) -> set[str]:
    """Logical ids of the resources whose type is one of `types` or starts with one that ends in
    `::` (a whole service, e.g. `AWS::CloudFront::`)."""
    prefixes = tuple(t for t in types if t.endswith("::"))
    return {
        name
        for name, res in template["Resources"].items()
        if res["Type"] in types or (prefixes and res["Type"].startswith(prefixes))
    }
