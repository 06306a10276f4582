"""Deploy a model version from the SageMaker model registry to the serving endpoint, and roll back to the previous
one (aws mode; favorita_assets/aws/serving.py). On the embedded default there is no endpoint to deploy to, and the
jobs say so."""

from dagster import Config, Failure, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer


def _sagemaker(trainer: DeepARTrainer):
    from favorita_assets.aws.sagemaker import SageMakerDeepAR

    if not isinstance(trainer, SageMakerDeepAR):
        raise Failure(
            "endpoint deploy and rollback need FAVORITA_DEPLOYMENT=aws: the embedded default serves "
            "forecasts as files (forecasts/...), it runs no endpoint"
        )
    return trainer


class DeployConfig(Config):
    model_package_arn: str | None = Field(default=None, description="Package to deploy; default the newest approved.")
    force: bool = Field(default=False, description="Deploy a package that is not Approved (its backtest lost).")


@op(description="Put a model package from the registry behind the serving endpoint (create or update).")
def deploy_model_package(context: OpExecutionContext, config: DeployConfig, storage: Storage, trainer: DeepARTrainer):
    from favorita_assets.aws.serving import ServingError, deploy

    try:
        result = deploy(_sagemaker(trainer), storage, config.model_package_arn, config.force, log=context.log.info)
    except ServingError as error:
        raise Failure(str(error)) from None
    yield Output(result, metadata={k: str(v) for k, v in result.items()})


@op(description="Return the serving endpoint to the deployment before the current one.")
def rollback_serving(context: OpExecutionContext, storage: Storage, trainer: DeepARTrainer):
    from favorita_assets.aws.serving import ServingError, rollback

    try:
        result = rollback(_sagemaker(trainer), storage, log=context.log.info)
    except ServingError as error:
        raise Failure(str(error)) from None
    yield Output(result, metadata={k: str(v) for k, v in result.items()})


@job(description="Deploy a model version from the registry to the SageMaker serving endpoint (aws mode).")
def deploy_model():
    deploy_model_package()


@job(description="Roll the SageMaker serving endpoint back to the previous deployment (aws mode).")
def rollback_model():
    rollback_serving()
