# The module's promises, checked with `terraform test` against a mocked AWS provider: the platform key lets CloudWatch
# alarms of this platform (and only those) publish to the topics it encrypts.
#
#   cd infra/terraform/modules/storage && terraform init -plugin-dir=... && terraform test

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:123456789012:key/mock"
    }
  }
}

variables {
  name = "favorita-test"
}

run "cloudwatch_alarms_of_this_platform_may_use_the_key" {
  command = plan

  assert {
    condition = length([
      for s in data.aws_iam_policy_document.kms.statement : s
      if one(s.principals[*].identifiers) == toset(["cloudwatch.amazonaws.com"])
      && toset(s.actions) == toset(["kms:Decrypt", "kms:GenerateDataKey*"])
    ]) == 1
    error_message = "The key policy must let cloudwatch.amazonaws.com decrypt and make data keys (the alerts topic is encrypted with it): an IAM policy cannot grant a service principal that."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.kms.statement : {
        for c in s.condition : c.variable => "${c.test} ${join(",", c.values)}"
        } == {
        "aws:SourceAccount" = "StringEquals 123456789012"
        "aws:SourceArn"     = "ArnLike arn:aws:cloudwatch:eu-west-1:123456789012:alarm:favorita-test-*"
      } if one(s.principals[*].identifiers) == toset(["cloudwatch.amazonaws.com"])
    ])
    error_message = "CloudWatch may use the key for this account's alarms of this platform only (aws:SourceAccount, aws:SourceArn)."
  }
}

run "the_key_rotates_and_only_this_accounts_services_may_use_it" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation == true
    error_message = "The platform key must rotate."
  }

  assert {
    condition = sort(flatten([
      for s in data.aws_iam_policy_document.kms.statement : [for p in s.principals : tolist(p.identifiers)]
    ])) == sort(["arn:aws:iam::123456789012:root", "cloudwatch.amazonaws.com", "logs.eu-west-1.amazonaws.com"])
    error_message = "Only the account (through IAM), CloudWatch Logs and CloudWatch alarms may be named in the key policy."
  }
}
