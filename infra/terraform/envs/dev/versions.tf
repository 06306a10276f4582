terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Remote state in S3, configured at init time so each team names its own state bucket:
  #   terraform init -backend-config=backend.hcl        (copy backend.hcl.example and fill it in)
  # The state bucket is created once, outside this configuration (see README "Deploy to AWS").
  backend "s3" {}
}
