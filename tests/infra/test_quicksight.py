"""The optional QuickSight module applied to moto's server, as far as moto's QuickSight goes.

moto 5.2 records QuickSight data sources, data sets and dashboards, but not templates or analyses; and it answers
DescribeDataSource with its timestamps as strings, which the AWS provider's SDK cannot decode. So an apply creates
the Athena data source (checked here, as moto recorded it) and stops on reading it back: that is where the emulator
stops, and this test says so by expecting exactly that error. The rest of the module (data sets, template,
dashboard) is checked by `terraform test` against a mocked provider (test_terraform_static.py)."""

from __future__ import annotations

import boto3
import pytest
from aws_mode.emulator import FAKE_CREDENTIALS

from infra.terraform import Terraform, emulator_override

pytestmark = [pytest.mark.terraform, pytest.mark.aws_platform]

PRINCIPAL = "arn:aws:quicksight:eu-west-1:123456789012:group/default/planners"


def test_moto_records_the_athena_data_source_and_the_apply_stops_where_moto_does(terraform_bin, moto_server, tmp_path):
    tf = Terraform(terraform_bin, tmp_path, env=FAKE_CREDENTIALS)
    root = tf.tree / "envs" / "quicksight_only"
    root.mkdir()
    (root / "main.tf").write_text(f'''provider "aws" {{
  region = "eu-west-1"
}}

module "quicksight" {{
  source           = "../../modules/quicksight"
  name_prefix      = "favorita-dev"
  athena_workgroup = "favorita-dev"
  glue_database    = "favorita_dev"
  principal_arn    = "{PRINCIPAL}"
  artifacts_bucket = "favorita-dev-artifacts-123456789012"
  kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/mock"
}}
''')
    # What a QuickSight subscription makes in the account: its service role, which the module grants the data to.
    boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1").create_role(
        RoleName="aws-quicksight-service-role-v0",
        Path="/service-role/",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
        '"Principal":{"Service":"quicksight.amazonaws.com"}}]}',
    )
    (root / "emulator_override.tf").write_text(emulator_override(moto_server))
    tf.init("quicksight_only")
    with pytest.raises(AssertionError) as stopped:
        tf.run("quicksight_only", "apply", "-auto-approve", "-no-color", timeout=300)
    message = str(stopped.value)
    assert "DescribeDataSource" in message and "expected Timestamp to be a JSON Number" in message, message[-2000:]
    qs = boto3.client("quicksight", endpoint_url=moto_server, region_name="eu-west-1")
    (source,) = qs.list_data_sources(AwsAccountId="123456789012")["DataSources"]
    assert (source["DataSourceId"], source["Type"]) == ("favorita-dev-athena", "ATHENA")
    assert source["DataSourceParameters"] == {"AthenaParameters": {"WorkGroup": "favorita-dev"}}
    assert qs.list_dashboards(AwsAccountId="123456789012")["DashboardSummaryList"] == []  # never reached
