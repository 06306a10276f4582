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
# A batch transform has no stopping condition of its own: the run stops one still running after three hours.
TRANSFORM_WAIT_SECONDS = 3 * 3600
# How long train() waits past the training job's MaxRuntimeInSeconds (SageMaker's stop and the upload of the model).
TRAINING_WAIT_MARGIN_SECONDS = 3600
TAGS = [{"Key": "project", "Value": "favorita-forecast"}]


# A version's training or transform jobs: its own name, then -r2, -r3... (a forced retrain, or one after a job that
# failed or was stopped). SageMaker never frees a job's name, so a line this long means something loops.
MAX_JOBS_PER_NAME = 50


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


def job_name(base: str, n: int) -> str:
    """The ``n``-th job of ``base``'s line (1: ``base`` itself)."""
    return base if n == 1 else resource_name(base, f"r{n}")


def _missing(describe: Callable[[str], dict], name: str) -> dict | None:
    """``describe(name)``, or None when SageMaker has no job of that name (it answers ValidationException)."""
    try:
        return describe(name)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def job_to_wait_on(
    base: str, describe: Callable[[str], dict], status_key: str, reuse_completed: bool
) -> tuple[str, dict | None]:
    """The job a run waits on for ``base`` (a name derived from what the job computes), found with Describe calls
    alone: the newest job of ``base``'s line when it is InProgress (a re-run of a terminated or crashed run attaches
    to it instead of paying for a second) or Completed and ``reuse_completed``, with its description; otherwise the
    next free name of the line and None (start a job of that name)."""
    newest: tuple[str, dict] | None = None
    for n in range(1, MAX_JOBS_PER_NAME + 1):
        name = job_name(base, n)
        job = _missing(describe, name)
        if job is None:
            if newest is not None and (
                newest[1][status_key] == "InProgress" or (reuse_completed and newest[1][status_key] == "Completed")
            ):
                return newest
            return name, None
        newest = (name, job)
    raise SageMakerJobFailed(
        f"{MAX_JOBS_PER_NAME} SageMaker jobs named {base}(-rN) already ran: look for what keeps failing or "
        "stopping them (the jobs' FailureReason in the console) before training this version again"
    )


def _create_unless_raced(create: Callable[[], object], describe: Callable[[], dict | None]) -> None:
    """``create()``; when it is refused because another run (a retry started alongside) created the job of that name
    a moment earlier, that job is the one to wait on: not an error."""
    try:
        create()
    except ClientError:
        if describe() is None:
            raise


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

    def training_job(self, request) -> tuple[str, dict | None]:
        """The training job of ``request``'s model version to wait on: one in flight (an earlier run of this version
        was terminated or its task died), or a Completed one unless the request retrains; else the name to start."""
        return job_to_wait_on(
            resource_name(self.name_prefix, request.version),
            lambda name: self.sm.describe_training_job(TrainingJobName=name),
            "TrainingJobStatus",
            reuse_completed=not request.retrain,
        )

    def train(self, context, storage, request, on_epoch):
        storage = _s3(storage)
        job_name, found = self.training_job(request)
        if found is None:
            _create_unless_raced(
                lambda: self.sm.create_training_job(**self.training_job_request(storage, request, job_name)),
                lambda: _missing(lambda name: self.sm.describe_training_job(TrainingJobName=name), job_name),
            )
            context.log.info(
                f"SageMaker training job {job_name} started on {self.training_instance_count} x "
                f"{self.training_instance_type}; model artifacts to {storage.uri(request.model_prefix)}/"
            )
        else:
            context.log.info(
                f"SageMaker training job {job_name} of {request.version} is already {found['TrainingJobStatus']} "
                f"(started {found.get('CreationTime')} by an earlier run): "
                + (
                    "waiting for it instead of starting another"
                    if found["TrainingJobStatus"] != "Completed"
                    else "using its model"
                )
            )
        job = self.wait(
            f"training job {job_name}",
            lambda: self.sm.describe_training_job(TrainingJobName=job_name),
            "TrainingJobStatus",
            {"Completed"},
            {"Failed", "Stopped"},
            self.max_runtime_seconds + TRAINING_WAIT_MARGIN_SECONDS,
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
        # A Completed job another run waited on may have been registered by that run before it died.
        package = (self._registered(artifact) if found is not None else None) or self._register(
            request.version, artifact
        )
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

    def _registered(self, artifact: str) -> str | None:
        """The model package already registered for ``artifact`` in the group (the newest few are looked at), or
        None."""
        if not self.model_package_group:
            return None
        summaries = self.sm.list_model_packages(
            ModelPackageGroupName=self.model_package_group, SortBy="CreationTime", SortOrder="Descending", MaxResults=10
        )["ModelPackageSummaryList"]
        for summary in summaries:
            arn = summary["ModelPackageArn"]
            package = self.sm.describe_model_package(ModelPackageName=arn)
            containers = package.get("InferenceSpecification", {}).get("Containers", [])
            if any(c.get("ModelDataUrl") == artifact for c in containers):
                return arn
        return None

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
        # The same series, configuration and model give the same forecasts: one job (and one output) for them, which
        # a re-run attaches to while it runs and reuses once it is done.
        digest = hashlib.sha256(
            body + json.dumps(configuration, sort_keys=True).encode() + model["model_name"].encode()
        ).hexdigest()[:12]
        prefix = f"transforms/{model['version']}/{digest}"
        output_key = f"{prefix}/output/data.json.out"
        job_name, found = job_to_wait_on(
            resource_name(self.name_prefix, model["version"], digest),
            lambda name: self.sm.describe_transform_job(TransformJobName=name),
            "TransformJobStatus",
            reuse_completed=storage.exists(output_key),
        )
        if found is not None:
            context.log.info(
                f"SageMaker batch transform {job_name} for these {len(instances):,} series is already "
                f"{found['TransformJobStatus']} (started by an earlier run): "
                + ("using its output" if found["TransformJobStatus"] == "Completed" else "waiting for it")
            )
        else:
            self._start_transform(context, storage, model, job_name, prefix, body, configuration, len(instances))
        self.wait(
            f"transform job {job_name}",
            lambda: self.sm.describe_transform_job(TransformJobName=job_name),
            "TransformJobStatus",
            {"Completed"},
            {"Failed", "Stopped"},
            TRANSFORM_WAIT_SECONDS,
            context.log.info,
            stop=lambda: self.sm.stop_transform_job(TransformJobName=job_name),
        )
        return list(read_json_lines(storage.read_bytes(output_key)))

    def _start_transform(self, context, storage, model, job_name, prefix, body, configuration, count) -> None:
        storage.write_bytes(f"{prefix}/input/data.json", body)
        output: dict[str, str] = {
            "S3OutputPath": storage.uri(f"{prefix}/output/"),
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        }
        if self.kms_key_id:
            output["KmsKeyId"] = self.kms_key_id
        request = {
            "TransformJobName": job_name,
            "ModelName": model["model_name"],
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": 6,
            "Environment": {"DEEPAR_INFERENCE_CONFIG": json.dumps(configuration)},
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": storage.uri(f"{prefix}/input/")}},
                "ContentType": "application/jsonlines",
                "SplitType": "Line",
            },
            "TransformOutput": output,
            "TransformResources": {"InstanceType": self.inference_instance_type, "InstanceCount": 1},
            "Tags": [*TAGS, {"Key": "model_version", "Value": model["version"]}],
        }
        _create_unless_raced(
            lambda: self.sm.create_transform_job(**request),
            lambda: _missing(lambda name: self.sm.describe_transform_job(TransformJobName=name), job_name),
        )
        context.log.info(f"SageMaker batch transform {job_name}: {count:,} series from {storage.uri(prefix)}/input/")

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
