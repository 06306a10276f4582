"""DeepAR on SageMaker's built-in algorithm: a training job on the JSON Lines channels already in S3, a SageMaker
Model, and forecasts from a batch transform or a real-time endpoint, parsed into the local backend's shape.

The hyperparameters arrive with SageMaker's names (``DeepARConfig``) and are passed through unchanged, as strings.
Waiting polls with exponential backoff; a job that ends Failed or Stopped fails the asset with SageMaker's
FailureReason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from favorita_assets.aws.clients import AwsJobFailed, FavoritaAws, wait_for
from favorita_assets.aws.s3_storage import S3Storage
from favorita_assets.core.deepar_format import (
    POINT_QUANTILES,
    endpoint_requests,
    inference_configuration,
    inference_instances,
    parse_predictions,
    point_forecast,
    read_json_lines,
    to_json_lines,
)
from favorita_assets.resources.training import DeepARTrainer

DEEPAR_FRAMEWORK = "forecasting-deepar"
TAGS = [{"Key": "project", "Value": "favorita-forecast"}]


class SageMakerJobFailed(AwsJobFailed):
    """A SageMaker training or transform job, or an endpoint, ended in failure."""


def deepar_image(region: str) -> str:
    """The built-in DeepAR image of ``region`` (from the SageMaker SDK's image URI registry; no network call)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(DEEPAR_FRAMEWORK, region)


def sagemaker_hyperparameters(hyperparameters: Mapping[str, Any], cardinality: list[int]) -> dict[str, str]:
    """The config's hyperparameters as SageMaker takes them: every value a string, unset ones left out, and the
    categorical cardinalities spelled out (SageMaker's ``cardinality``)."""
    out = {k: str(v) for k, v in hyperparameters.items() if v is not None}
    out["cardinality"] = json.dumps(list(cardinality))
    return out


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def resource_name(*parts: str) -> str:
    """A SageMaker resource name: at most 63 characters of letters, digits and hyphens. A longer one keeps its start
    (the prefix the IAM policies scope to) and ends with a short hash of the whole name, so two names that differ
    only past the cut (another second's stamp, another version) stay apart."""
    name = "-".join(parts).replace("_", "-").replace(".", "-")
    if len(name) <= 63:
        return name.rstrip("-")
    return f"{name[:54].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class SageMakerDeepAR(DeepARTrainer):
    """SageMaker DeepAR (FAVORITA_DEPLOYMENT=aws)."""

    role_arn: str = Field(description="SageMaker execution role (Terraform output sagemaker_execution_role_arn).")
    model_package_group: str | None = Field(
        default=None,
        description="Model registry group each trained model is registered in, pending approval by the "
        "backtest (Terraform output model_package_group_name); None registers nothing.",
    )
    name_prefix: str = Field(
        default="favorita",
        description="Start of every job, model and endpoint name; the IAM policy allows only these "
        "(Terraform output sagemaker_name_prefix).",
    )
    image_uri: str | None = Field(default=None, description="Override the region's built-in DeepAR image.")
    training_instance_type: str = Field(default="ml.c5.2xlarge", description="Training instance type.")
    training_instance_count: int = Field(default=1, ge=1)
    volume_size_gb: int = Field(default=30, ge=1)
    max_runtime_seconds: int = Field(default=4 * 3600, ge=60, description="SageMaker stops training after this.")
    inference_mode: Literal["batch", "endpoint"] = Field(
        default="batch",
        description="batch: a transform job per forecast (no standing cost); endpoint: a real-time "
        "endpoint per model version, kept for interactive use (billed while it runs).",
    )
    inference_instance_type: str = Field(default="ml.c5.xlarge")
    endpoint_batch_size: int = Field(
        default=200,
        ge=1,
        description="Most series per endpoint request; fewer when "
        "their JSON would exceed the endpoint's 6 MB request limit (5 MB is used).",
    )
    kms_key_id: str | None = Field(default=None, description="KMS key for the model artifacts and transform output.")
    poll_min_seconds: float = Field(default=15.0, gt=0, description="First wait between status polls.")
    poll_max_seconds: float = Field(default=120.0, gt=0, description="Longest wait between status polls.")
    aws: FavoritaAws = Field(description="Region, endpoint, retries and timeouts of the SageMaker clients.")

    # --- clients and waiting -------------------------------------------------------------------------------------

    @property
    def sm(self) -> Any:
        return self.aws.client("sagemaker")

    @property
    def runtime(self) -> Any:
        return self.aws.client("sagemaker-runtime")

    def image(self) -> str:
        return self.image_uri or deepar_image(self.sm.meta.region_name)

    def wait(
        self,
        what: str,
        describe: Callable[[], dict],
        status_key: str,
        done: set[str],
        failed: set[str],
        deadline_seconds: float,
        log: Callable[[str], None],
        stop: Callable[[], object] | None = None,
    ) -> dict:
        """Poll ``describe`` until its status is in ``done`` (returned) or ``failed`` (raised with SageMaker's
        FailureReason), backing off from poll_min_seconds to poll_max_seconds; ``stop`` on termination."""
        return wait_for(
            what,
            describe,
            status_key,
            done,
            failed,
            deadline_seconds,
            log,
            first_delay=self.poll_min_seconds,
            longest_delay=self.poll_max_seconds,
            error=SageMakerJobFailed,
            stop=stop,
        )

    # --- training -------------------------------------------------------------------------------------------------

    def training_job_request(self, storage: S3Storage, request, job_name: str) -> dict[str, Any]:
        """The CreateTrainingJob request for ``request`` (a TrainingRequest)."""
        channels = [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": storage.uri(f"{request.channels_prefix}/{channel}/"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "json",
            }
            for channel in ("train", "test")
        ]
        output = {"S3OutputPath": storage.uri(f"{request.model_prefix}/")}
        if self.kms_key_id:
            output["KmsKeyId"] = self.kms_key_id
        return {
            "TrainingJobName": job_name,
            "AlgorithmSpecification": {"TrainingImage": self.image(), "TrainingInputMode": "File"},
            "RoleArn": self.role_arn,
            "HyperParameters": sagemaker_hyperparameters(request.hyperparameters, request.cardinality),
            "InputDataConfig": channels,
            "OutputDataConfig": output,
            "ResourceConfig": {
                "InstanceType": self.training_instance_type,
                "InstanceCount": self.training_instance_count,
                "VolumeSizeInGB": self.volume_size_gb,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_runtime_seconds},
            "Tags": [*TAGS, {"Key": "model_version", "Value": request.version}],
        }

    def train(self, context, storage, request, on_epoch):
        storage = _s3(storage)
        job_name = resource_name(self.name_prefix, request.version, utc_stamp())
        self.sm.create_training_job(**self.training_job_request(storage, request, job_name))
        context.log.info(
            f"SageMaker training job {job_name} started on {self.training_instance_count} x "
            f"{self.training_instance_type}; model artifacts to {storage.uri(request.model_prefix)}/"
        )
        job = self.wait(
            f"training job {job_name}",
            lambda: self.sm.describe_training_job(TrainingJobName=job_name),
            "TrainingJobStatus",
            {"Completed"},
            {"Failed", "Stopped"},
            self.max_runtime_seconds + 3600,
            context.log.info,
            stop=lambda: self.sm.stop_training_job(TrainingJobName=job_name),
        )
        artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
        metrics = {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}
        for name, value in metrics.items():
            context.log.info(f"{job_name} final metric {name} = {value}")
        # One SageMaker Model per training (AWS refuses a second CreateModel of a name), so a retrain of the same
        # version is served by its own artifact, never by the model an earlier training left under that name.
        model_name = job_name
        self._create_model(model_name, artifact)
        package = self._register(request.version, artifact)
        if package:
            context.log.info(f"registered {request.version} in {self.model_package_group}: {package}")
        bucket_key = artifact[len("s3://") :].partition("/")
        return {
            "model_package_arn": package,
            "backend": "sagemaker",
            "training_job_name": job_name,
            "model_artifact": artifact,
            "model_key": bucket_key[2],
            "model_name": model_name,
            "image": self.image(),
            "training_instance_type": self.training_instance_type,
            "billable_seconds": job.get("BillableTimeInSeconds"),
            "final_metrics": metrics,
        }

    def _register(self, version: str, artifact: str) -> str | None:
        """A model package in the registry group, pending approval (the backtest decides)."""
        if not self.model_package_group:
            return None
        response = self.sm.create_model_package(
            ModelPackageGroupName=self.model_package_group,
            ModelPackageDescription=f"Favorita DeepAR {version}",
            InferenceSpecification={
                "Containers": [{"Image": self.image(), "ModelDataUrl": artifact}],
                "SupportedContentTypes": ["application/jsonlines"],
                "SupportedResponseMIMETypes": ["application/jsonlines"],
                "SupportedRealtimeInferenceInstanceTypes": [self.inference_instance_type],
                "SupportedTransformInstanceTypes": [self.inference_instance_type],
            },
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties={"version": version},
            Tags=TAGS,
        )
        return response["ModelPackageArn"]

    def review(self, context, model, approved: bool, reason: str) -> None:
        package = model.get("model_package_arn")
        if not package:
            return
        status = "Approved" if approved else "Rejected"
        self.sm.update_model_package(
            ModelPackageArn=package, ModelApprovalStatus=status, ApprovalDescription=reason[:1024]
        )
        context.log.info(f"model package {package}: {status} ({reason})")

    def _create_model(self, model_name: str, artifact: str) -> None:
        try:
            self.sm.create_model(
                ModelName=model_name,
                PrimaryContainer={"Image": self.image(), "ModelDataUrl": artifact},
                ExecutionRoleArn=self.role_arn,
                Tags=TAGS,
            )
        except ClientError as error:
            if "already exist" not in str(error):
                raise
            # A retried call after a lost answer finds its own model: fine. Any other model under this name is not.
            existing = self.sm.describe_model(ModelName=model_name)["PrimaryContainer"].get("ModelDataUrl")
            if existing != artifact:
                raise SageMakerJobFailed(
                    f"a SageMaker model named {model_name} already exists and serves {existing}, not this training's "
                    f"{artifact}: delete that model (or the whole version with cleanup_old_versions) and retrain"
                ) from None

    # --- inference ------------------------------------------------------------------------------------------------

    def predict(self, context, storage, model, records, quantiles, cut=0):
        storage = _s3(storage)
        if model.get("backend") != "sagemaker":
            raise ValueError(
                f"model {model.get('version')} was trained by {model.get('backend')}, not SageMaker: "
                "retrain it in AWS mode (force_retrain) before forecasting with SageMaker"
            )
        instances = inference_instances(records, cut)
        hp = model["hyperparameters"]
        horizon = int(hp["prediction_length"])
        levels = sorted({*quantiles, *POINT_QUANTILES})  # the deciles give the point forecast, as locally
        configuration = inference_configuration(levels, int(hp.get("num_eval_samples") or 100))
        if self.inference_mode == "endpoint":
            raw = self._predict_endpoint(context, model, instances, configuration)
        else:
            raw = self._predict_batch(context, storage, model, instances, configuration)
        if len(raw) != len(instances):
            raise SageMakerJobFailed(f"SageMaker returned {len(raw)} forecasts for {len(instances)} series")
        return [
            {"mean": point_forecast(row), **{q: row[q] for q in quantiles}}
            for row in parse_predictions(raw, levels, horizon)
        ]

    def _predict_batch(self, context, storage, model, instances, configuration) -> list[dict]:
        body = to_json_lines(instances)
        digest = hashlib.sha256(body + json.dumps(configuration).encode()).hexdigest()[:12]
        prefix = f"transforms/{model['version']}/{digest}"
        storage.write_bytes(f"{prefix}/input/data.json", body)
        job_name = resource_name(self.name_prefix, model["version"], digest[:8], utc_stamp())
        output = {
            "S3OutputPath": storage.uri(f"{prefix}/output/"),
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        }
        if self.kms_key_id:
            output["KmsKeyId"] = self.kms_key_id
        self.sm.create_transform_job(
            TransformJobName=job_name,
            ModelName=model["model_name"],
            BatchStrategy="MultiRecord",
            MaxPayloadInMB=6,
            Environment={"DEEPAR_INFERENCE_CONFIG": json.dumps(configuration)},
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": storage.uri(f"{prefix}/input/")}},
                "ContentType": "application/jsonlines",
                "SplitType": "Line",
            },
            TransformOutput=output,
            TransformResources={"InstanceType": self.inference_instance_type, "InstanceCount": 1},
            Tags=[*TAGS, {"Key": "model_version", "Value": model["version"]}],
        )
        context.log.info(
            f"SageMaker batch transform {job_name}: {len(instances):,} series from {storage.uri(prefix)}/input/"
        )
        self.wait(
            f"transform job {job_name}",
            lambda: self.sm.describe_transform_job(TransformJobName=job_name),
            "TransformJobStatus",
            {"Completed"},
            {"Failed", "Stopped"},
            3 * 3600,
            context.log.info,
            stop=lambda: self.sm.stop_transform_job(TransformJobName=job_name),
        )
        return list(read_json_lines(storage.read_bytes(f"{prefix}/output/data.json.out")))

    def endpoint_name(self, model: Mapping[str, Any]) -> str:
        return resource_name(self.name_prefix, model["version"])

    def ensure_endpoint(self, context, model: Mapping[str, Any]) -> str:
        """The model version's endpoint, created (and waited for) when it does not exist yet."""
        name = self.endpoint_name(model)
        try:
            status = self.sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except ClientError as error:
            if "Could not find" not in str(error) and "ValidationException" not in str(error):
                raise
            status = None
        serving = None
        if status is not None:
            config = self.sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
            serving = self.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"]
        if serving != model["model_name"]:
            config_name = resource_name(name, utc_stamp())
            self.sm.create_endpoint_config(
                EndpointConfigName=config_name,
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": model["model_name"],
                        "InstanceType": self.inference_instance_type,
                        "InitialInstanceCount": 1,
                    }
                ],
                Tags=TAGS,
            )
            if status is None:
                self.sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=TAGS)
                context.log.info(f"creating SageMaker endpoint {name} ({self.inference_instance_type})")
            else:  # a retrain of this version: the endpoint moves to the new model (the old one serves meanwhile)
                self.sm.update_endpoint(EndpointName=name, EndpointConfigName=config_name)
                context.log.info(f"endpoint {name} now serves {model['model_name']} (was {serving})")
        self.wait(
            f"endpoint {name}",
            lambda: self.sm.describe_endpoint(EndpointName=name),
            "EndpointStatus",
            {"InService"},
            {"Failed", "OutOfService"},
            3600,
            context.log.info,
        )
        return name

    def release(self, context, model: Mapping[str, Any]) -> None:
        """In endpoint mode: delete the model version's endpoint and its configuration once the run's forecasts are
        done (a real-time endpoint bills every hour it runs, used or not); the next predict creates it again. The
        approved model's serving endpoint (``deploy_model``) is another endpoint and stays."""
        if self.inference_mode != "endpoint":
            return
        name = self.endpoint_name(model)
        try:
            config = self.sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
        except ClientError as error:
            if "Could not find" in str(error) or "ValidationException" in str(error):
                return  # never created, or already deleted
            raise
        self.sm.delete_endpoint(EndpointName=name)
        self.sm.delete_endpoint_config(EndpointConfigName=config)
        context.log.info(f"deleted SageMaker endpoint {name} and its configuration {config}: the forecasts are done")

    def _predict_endpoint(self, context, model, instances, configuration) -> list[dict]:
        name = self.ensure_endpoint(context, model)
        out: list[dict] = []
        for body, count in endpoint_requests(instances, configuration, max_series=self.endpoint_batch_size):
            response = self.runtime.invoke_endpoint(
                EndpointName=name, ContentType="application/json", Accept="application/json", Body=body
            )
            answers = json.loads(response["Body"].read())["predictions"]
            if len(answers) != count:
                raise SageMakerJobFailed(f"endpoint {name} answered {len(answers)} forecasts for {count} series")
            out.extend(answers)
        context.log.info(f"endpoint {name} forecast {len(out):,} series")
        return out


def _s3(storage) -> S3Storage:
    if not isinstance(storage, S3Storage):
        raise TypeError(
            "SageMaker reads its channels from S3 and writes models there: configure S3Storage "
            "(FAVORITA_DEPLOYMENT=aws)"
        )
    return storage
