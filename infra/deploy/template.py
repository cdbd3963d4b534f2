"""Load template.yaml, package its local code paths to S3 and turn SAM into CloudFormation."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"

# What moto's CloudFormation cannot create: the SAM-generated REST API ("The REST API doesn't
# contain any methods") and CloudFront (distributions, functions, response headers policies).
# Locally Chalice's server and the static servers on 3000/3001 stand in for them.
EMULATOR_UNSUPPORTED_PREFIXES = ("AWS::ApiGateway::", "AWS::CloudFront::")
_SKIP_DIRS = {"__pycache__", ".chalice", ".pytest_cache"}


class _NoManagedPolicies(ManagedPolicyLoader):
    """The template only uses SAM policy templates and inline statements: no IAM look-up."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)

    def load(self) -> dict[str, str]:
        return {}


def load_template(path: Path = TEMPLATE) -> dict:
    """The SAM template as a dict (CloudFormation short tags expanded)."""
    return yaml_parse(path.read_text())


def zip_directory(directory: Path, prefix: str = "") -> bytes:
    """Zip a code directory (deterministic order, caches left out); `prefix` nests it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(directory.rglob("*")):
            if file.is_dir() or _SKIP_DIRS.intersection(file.relative_to(directory).parts):
                continue
            archive.write(file, prefix + str(file.relative_to(directory)))
    return buffer.getvalue()


def package(template: dict, s3_client, bucket: str) -> dict:
    """Upload each local CodeUri/ContentUri as a zip to `bucket` and point the template at it,
    as `sam package` does (layers are nested under python/, where Lambda looks for them)."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for key, prefix in (("CodeUri", ""), ("ContentUri", "python/")):
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                s3_key = f"{name}.zip"
                s3_client.put_object(
                    Bucket=bucket, Key=s3_key, Body=zip_directory(REPO / uri, prefix)
                )
                props[key] = f"s3://{bucket}/{s3_key}"
    return template


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


def without_unsupported(
    template: dict, unsupported: tuple[str, ...] = EMULATOR_UNSUPPORTED_PREFIXES
) -> tuple[dict, dict[str, str]]:
    """Drop the resource types the emulator cannot create (type prefixes in `unsupported`) and
    everything that needs them; returns the template and the logical ids left out with their
    types. A resource whose only references to them are items of a joined list keeps the
    other items; any other reference leaves the resource out too."""
    resources = template["Resources"]
    dropped = {name for name, res in resources.items() if res["Type"].startswith(unsupported)}
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
