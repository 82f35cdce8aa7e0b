import copy
import os
import pathlib
import sys

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Overridable so a broken copy can be checked against the suite.
TEMPLATE = pathlib.Path(os.environ.get("INFRA_TEMPLATE", REPO / "infra" / "template.yaml"))
OPENAPI = pathlib.Path(os.environ.get("INFRA_OPENAPI", REPO / "infra" / "openapi.yaml"))

sys.path.insert(0, str(HERE))


def load_template():
    """The template as plain dicts, with !Ref/!GetAtt/!Sub... as their long forms."""
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="session")
def template():
    return load_template()


@pytest.fixture(scope="session")
def resources(template):
    return template["Resources"]


@pytest.fixture(scope="session")
def transformed(template):
    """The template after the SAM transform, as CloudFormation would see it."""
    try:
        from cfnlint.template.transforms._sam import Transform
    except ImportError as exc:  # cfn-lint moved its internals
        pytest.fail(f"cannot run the SAM transform through cfn-lint: {exc}")
    transform = Transform(str(TEMPLATE), copy.deepcopy(template), "eu-central-1")
    errors = transform.transform_template()
    assert not errors, f"SAM transform failed: {errors}"
    return transform.template()


@pytest.fixture(scope="session")
def openapi():
    with open(OPENAPI, encoding="utf-8") as f:
        return yaml.safe_load(f)
