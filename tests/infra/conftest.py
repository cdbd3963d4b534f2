import copy
import os

import pytest

# The SAM transform builds ARNs for a region; any region will do for a contract test.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def sam() -> dict:
    """template.yaml as SAM (short tags expanded)."""
    from infra.deploy import template as tpl

    return tpl.load_template()


@pytest.fixture(scope="session")
def cfn(sam) -> dict:
    """template.yaml through the SAM transform, code paths packaged to a placeholder."""
    from infra.deploy import template as tpl

    packaged = copy.deepcopy(sam)
    for resource in packaged["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key.zip"
    return tpl.to_cloudformation(packaged, {"AuthTokenSecret": "x" * 40})
