# Training: the SageMaker resources that outlive a single run. Training jobs, models, batch transforms and endpoints
# are created per monthly run by Dagster (favorita_assets/aws/sagemaker.py) with names starting with
# sagemaker_name_prefix; the model registry they are published to lives here.

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.model_package_group_name
  model_package_group_description = "Favorita DeepAR models: one package per monthly cut-off, approved when the backtest beats the baselines"
  tags                            = var.tags
}
