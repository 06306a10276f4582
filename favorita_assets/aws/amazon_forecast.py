"""Amazon Forecast as the model backend (``FAVORITA_MODEL_BACKEND=amazon-forecast``, aws mode only), in the same
asset graph: ``deepar_model`` trains a predictor, ``forecast_evaluation`` scores its backtest beside the challengers,
``forecasts`` publishes its forecast.

AWS closed Amazon Forecast to new customers on 29 July 2024; accounts that used it before keep it. An account without
it gets an error that says so and points to SageMaker DeepAR.

One training (one model version) is, all named ``<prefix>_<version>_<stamp>`` (Forecast names take letters, digits
and ``_``):

1. a dataset group in the RETAIL domain with three datasets (target time series, related time series, item
   metadata: :mod:`favorita_assets.core.forecast_format`), and one import job each from the CSVs that
   ``deepar_training_data`` wrote beside the channels;
2. a predictor: AutoPredictor (``algorithm="auto"``, the default) or a named algorithm through the legacy
   CreatePredictor (``Deep_AR_Plus``, ``CNN-QR``, ``Prophet``, ``NPTS``, ``ETS``, ``ARIMA``), forecasting 0.1, 0.5,
   0.9 and the mean over ``prediction_length`` days, with Ecuador's holidays;
3. the predictor's backtest export and a forecast with its export, both CSV in the artifacts bucket, read back into
   ``models/<version>/amazon_forecast/{backtest,forecast}.parquet``.

Every create is waited for with backoff; a resource that ends CREATE_FAILED fails the asset with its message.
``predict`` then answers from those two tables: the backtest windows the evaluation asks for must be windows of the
predictor's backtest (a named algorithm is given the evaluation's windows; AutoPredictor chooses its own, so the
evaluation's windows are matched by date and a miss is named), and the forecast is the horizon after the cut-off.
A what-if is refused: the predictor forecasts only the related data it was given.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
from botocore.exceptions import ClientError
from pydantic import Field

from favorita_assets.aws.clients import AwsJobFailed, FavoritaAws, wait_for
from favorita_assets.aws.s3_storage import S3Storage
from favorita_assets.aws.sagemaker import utc_stamp
from favorita_assets.core.deepar_format import CategoryEncoding
from favorita_assets.core.forecast_format import (
    DATASET_TYPES,
    DATASETS,
    FORECAST_TYPES,
    SCHEMAS,
    TIMESTAMP_FORMAT,
    ForecastFormatError,
    first_forecast_day,
    forecasts_for,
    plain,
    read_export,
    record_item,
)
from favorita_assets.resources.training import DeepARTrainer

DOMAIN = "RETAIL"
FREQUENCY = "D"
HOLIDAY_COUNTRY = "EC"  # Ecuador: Forecast's built-in holiday calendar of the country
ALGORITHMS = ("auto", "Deep_AR_Plus", "CNN-QR", "Prophet", "NPTS", "ETS", "ARIMA")
MAX_BACKTEST_WINDOWS = 5  # EvaluationParameters.NumberOfBacktestWindows: 1 to 5
TAGS = [{"Key": "project", "Value": "favorita-forecast"}]
DONE, FAILED = {"ACTIVE"}, {"CREATE_FAILED", "CREATE_STOPPED"}
NOT_AVAILABLE = (
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "SubscriptionRequiredException",
    "OptInRequired",
)
BACKEND = "amazon-forecast"


class ForecastJobFailed(AwsJobFailed):
    """An Amazon Forecast resource that ended CREATE_FAILED (or stopped), or an export not in Forecast's format."""


class AmazonForecastUnavailable(AwsJobFailed):
    """The account cannot use Amazon Forecast."""


MAX_NAME = 63  # Forecast's longest resource name


def forecast_name(*parts: str) -> str:
    """An Amazon Forecast resource name: letters, digits and _ only, starting with a letter, at most 63 characters."""
    name = plain("_".join(parts))
    if not name[:1].isalpha():
        name = f"f_{name}"
    return name[:MAX_NAME].rstrip("_")


def training_name(prefix: str, version: str, stamp: str) -> str:
    """The name of one training's resources, ``<prefix>_<version>_<stamp>``. Past 63 characters the stamp gives way
    to as many characters of a hash of the whole name as fit (at least 4), never to a cut that would make two trainings
    of a version a second apart one name; the name still starts with ``<prefix>_<version>_``, which clean-up finds."""
    head = forecast_name(prefix, version)
    room = max(MAX_NAME - len(head) - 1, 4)
    head = head[: MAX_NAME - 1 - room]
    tail = stamp if len(stamp) <= room else hashlib.sha256(f"{head}_{stamp}".encode()).hexdigest()[:room]
    return f"{head}_{tail}"


def unavailable(error: ClientError) -> AmazonForecastUnavailable | None:
    """The plain error for an account without Amazon Forecast (access denied, or 'not available to new customers')."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "") or str(error)
    if code in NOT_AVAILABLE or "new customer" in message.lower():
        return AmazonForecastUnavailable(
            f"Amazon Forecast refused this account ({code}: {message}). AWS closed Amazon Forecast to new customers "
            "on 29 July 2024, and an account that never used it cannot start now; an IAM policy without the forecast:* "
            "actions is refused the same way (give the Dagster role forecast:* on the project's names). "
            "Use SageMaker DeepAR instead: "
            "unset FAVORITA_MODEL_BACKEND (or set it to sagemaker-deepar) and materialize deepar_model again."
        )
    return None


class AmazonForecast(DeepARTrainer):
    """Amazon Forecast (FAVORITA_DEPLOYMENT=aws, FAVORITA_MODEL_BACKEND=amazon-forecast)."""

    role_arn: str = Field(
        description="The role Amazon Forecast assumes to read the datasets and write the exports "
        "(FAVORITA_FORECAST_ROLE_ARN)."
    )
    name_prefix: str = Field(
        default="favorita",
        description="Start of every Forecast resource name; the Dagster policy allows only these (hyphens become _).",
    )
    algorithm: str = Field(
        default="auto",
        description="auto: AutoPredictor; or a named algorithm of the legacy "
        f"CreatePredictor: {', '.join(ALGORITHMS[1:])}.",
    )
    holiday_country: str = Field(
        default=HOLIDAY_COUNTRY,
        description="Forecast's built-in holiday featurization (ISO country code); '' leaves it out.",
    )
    kms_key_arn: str | None = Field(default=None, description="KMS key for the datasets, predictor and exports.")
    poll_min_seconds: float = Field(default=60.0, gt=0, description="First wait between status polls.")
    poll_max_seconds: float = Field(default=600.0, gt=0, description="Longest wait between status polls.")
    max_hours: float = Field(
        default=24.0, gt=0, description="Longest wait for one resource (a predictor on large data can train for hours)."
    )
    aws: FavoritaAws = Field(description="Region, endpoint, retries and timeouts of the clients.")

    supports_what_if: ClassVar[bool] = False
    version_prefix: ClassVar[str] = "forecast"
    # The predictor forecasts from the related data of the inference channel (the horizon's promotions, holidays):
    # its model version hashes that channel too (favorita_assets.modeling.assets.model_version).
    forecasts_from_inference_channel: ClassVar[bool] = True

    def identity(self) -> dict[str, Any]:
        return {"backend": BACKEND, "algorithm": self.algorithm, "holiday_country": self.holiday_country}

    @property
    def forecast(self) -> Any:
        return self.aws.client("forecast")

    def _call(self, operation: str, **params) -> dict:
        """One Forecast API call; an account without Forecast gets the plain error (see :func:`unavailable`)."""
        try:
            return getattr(self.forecast, operation)(**params)
        except ClientError as error:
            refusal = unavailable(error)
            if refusal is not None:
                raise refusal from None
            raise

    def _wait(self, what: str, describe: str, arn_key: str, arn: str, log: Callable[[str], None]) -> dict:
        return wait_for(
            what,
            lambda: self._call(describe, **{arn_key: arn}),
            "Status",
            DONE,
            FAILED,
            self.max_hours * 3600,
            log,
            first_delay=self.poll_min_seconds,
            longest_delay=self.poll_max_seconds,
            error=ForecastJobFailed,
            reason_keys=("Message",),
            stop=lambda: self._call("stop_resource", ResourceArn=arn),
        )

    def _encryption(self) -> dict:
        return (
            {"EncryptionConfig": {"RoleArn": self.role_arn, "KMSKeyArn": self.kms_key_arn}} if self.kms_key_arn else {}
        )

    def _s3_config(self, path: str) -> dict:
        config = {"Path": path, "RoleArn": self.role_arn}
        if self.kms_key_arn:
            config["KMSKeyArn"] = self.kms_key_arn
        return {"S3Config": config}

    # --- requests (each one a method, so the tests hold them to botocore's model) ------------------------------

    def dataset_requests(self, base: str) -> dict[str, dict]:
        return {
            name: {
                "DatasetName": forecast_name(base, name),
                "Domain": DOMAIN,
                "DatasetType": DATASET_TYPES[name],
                **({"DataFrequency": FREQUENCY} if name != "items" else {}),
                "Schema": SCHEMAS[name],
                **self._encryption(),
                "Tags": TAGS,
            }
            for name in DATASETS
        }

    def import_request(self, base: str, name: str, dataset_arn: str, path: str) -> dict:
        return {
            "DatasetImportJobName": forecast_name(base, name),
            "DatasetArn": dataset_arn,
            "DataSource": self._s3_config(path),
            **({"TimestampFormat": TIMESTAMP_FORMAT} if name != "items" else {}),
            "Format": "CSV",
            "Tags": TAGS,
        }

    def predictor_request(self, base: str, group_arn: str, horizon: int, windows: int) -> tuple[str, dict]:
        """(operation, request) of the predictor: CreateAutoPredictor, or CreatePredictor for a named algorithm."""
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"FAVORITA_FORECAST_ALGORITHM={self.algorithm!r}: use one of {', '.join(ALGORITHMS)}")
        # A closed day's demand stays missing (not a zero sale), as in DeepAR's channels.
        filling = {"middlefill": "nan", "backfill": "nan"}
        if self.algorithm == "auto":
            data = {
                "DatasetGroupArn": group_arn,
                "AttributeConfigs": [{"AttributeName": "demand", "Transformations": filling}],
            }
            if self.holiday_country:
                data["AdditionalDatasets"] = [
                    {"Name": "holiday", "Configuration": {"CountryCode": [self.holiday_country]}}
                ]
            return "create_auto_predictor", {
                "PredictorName": base,
                "ForecastHorizon": horizon,
                "ForecastTypes": list(FORECAST_TYPES),
                "ForecastFrequency": FREQUENCY,
                "DataConfig": data,
                "OptimizationMetric": "AverageWeightedQuantileLoss",
                **self._encryption(),
                "Tags": TAGS,
            }
        if not 1 <= windows <= MAX_BACKTEST_WINDOWS:
            raise ValueError(
                f"backtest_windows={windows}: Amazon Forecast backtests 1 to {MAX_BACKTEST_WINDOWS} "
                "windows; set deepar_training_data's backtest_windows within that"
            )
        inputs = {"DatasetGroupArn": group_arn}
        if self.holiday_country:
            inputs["SupplementaryFeatures"] = [{"Name": "holiday", "Value": self.holiday_country}]
        return "create_predictor", {
            "PredictorName": base,
            "AlgorithmArn": f"arn:aws:forecast:::algorithm/{self.algorithm}",
            "ForecastHorizon": horizon,
            "ForecastTypes": list(FORECAST_TYPES),
            "PerformAutoML": False,
            # The evaluation's windows: k windows of one horizon each, back to back, ending at the cut-off.
            "EvaluationParameters": {"NumberOfBacktestWindows": windows, "BackTestWindowOffset": horizon},
            "InputDataConfig": inputs,
            "FeaturizationConfig": {
                "ForecastFrequency": FREQUENCY,
                "Featurizations": [
                    {
                        "AttributeName": "demand",
                        "FeaturizationPipeline": [
                            {
                                "FeaturizationMethodName": "filling",
                                "FeaturizationMethodParameters": {"frontfill": "none", **filling},
                            }
                        ],
                    }
                ],
            },
            **self._encryption(),
            "Tags": TAGS,
        }

    # --- training -----------------------------------------------------------------------------------------------

    def train(self, context, storage, request, on_epoch):
        storage = _s3(storage)
        manifest = storage.read_json(f"{request.channels_prefix}/manifest.json")
        datasets = manifest.get("forecast_datasets")
        if not datasets:
            raise ForecastJobFailed(
                f"{storage.uri(request.channels_prefix)} has no Amazon Forecast datasets: materialize "
                "deepar_training_data again with FAVORITA_MODEL_BACKEND=amazon-forecast (it writes them beside the "
                "channels)"
            )
        h, k = int(manifest["prediction_length"]), int(manifest.get("backtest_windows", 1))
        log = context.log.info
        base = training_name(self.name_prefix, request.version, utc_stamp())
        self.predictor_request(base, "", h, k)  # refuses bad settings before anything is created
        group_arn = self._call("create_dataset_group", DatasetGroupName=base, Domain=DOMAIN, Tags=TAGS)[
            "DatasetGroupArn"
        ]
        log(f"Amazon Forecast dataset group {base} ({DOMAIN})")
        dataset_arns = {
            name: self._call("create_dataset", **req)["DatasetArn"] for name, req in self.dataset_requests(base).items()
        }
        self._call("update_dataset_group", DatasetGroupArn=group_arn, DatasetArns=list(dataset_arns.values()))
        imports = {}
        for name in DATASETS:
            folder = storage.uri(f"{request.channels_prefix}/forecast/{name}/")
            imports[name] = self._call(
                "create_dataset_import_job", **self.import_request(base, name, dataset_arns[name], folder)
            )["DatasetImportJobArn"]
        for name, arn in imports.items():
            self._wait(f"dataset import {name}", "describe_dataset_import_job", "DatasetImportJobArn", arn, log)
        operation, predictor_request = self.predictor_request(base, group_arn, h, k)
        predictor_arn = self._call(operation, **predictor_request)["PredictorArn"]
        log(
            f"Amazon Forecast predictor {base} ({self.algorithm}, horizon {h} days, forecast types "
            f"{', '.join(FORECAST_TYPES)}) training"
        )
        describe = "describe_auto_predictor" if operation == "create_auto_predictor" else "describe_predictor"
        predictor = self._wait(f"predictor {base}", describe, "PredictorArn", predictor_arn, log)
        export_root = exports_prefix(request.model_prefix)
        backtest_path = storage.uri(f"{export_root}/backtest/")
        backtest_arn = self._call(
            "create_predictor_backtest_export_job",
            PredictorBacktestExportJobName=forecast_name(base, "backtest"),
            PredictorArn=predictor_arn,
            Destination=self._s3_config(backtest_path),
            Format="CSV",
            Tags=TAGS,
        )["PredictorBacktestExportJobArn"]
        forecast_arn = self._call(
            "create_forecast",
            ForecastName=base,
            PredictorArn=predictor_arn,
            ForecastTypes=list(FORECAST_TYPES),
            Tags=TAGS,
        )["ForecastArn"]
        self._wait(
            "backtest export",
            "describe_predictor_backtest_export_job",
            "PredictorBacktestExportJobArn",
            backtest_arn,
            log,
        )
        self._wait(f"forecast {base}", "describe_forecast", "ForecastArn", forecast_arn, log)
        forecast_path = storage.uri(f"{export_root}/forecast/")
        export_arn = self._call(
            "create_forecast_export_job",
            ForecastExportJobName=forecast_name(base, "export"),
            ForecastArn=forecast_arn,
            Destination=self._s3_config(forecast_path),
            Format="CSV",
            Tags=TAGS,
        )["ForecastExportJobArn"]
        self._wait("forecast export", "describe_forecast_export_job", "ForecastExportJobArn", export_arn, log)
        tables, windows = {}, []
        for what, prefix in (
            ("backtest", f"{export_root}/backtest/forecasted-values"),
            ("forecast", f"{export_root}/forecast"),
        ):
            parts = [
                (storage.uri(key), storage.read_bytes(key)) for key in storage.list_keys(prefix) if key.endswith(".csv")
            ]
            try:
                table = read_export(parts, backtest=what == "backtest")
            except ForecastFormatError as error:
                raise ForecastJobFailed(f"the {what} export under {storage.uri(prefix)}/: {error}") from None
            tables[what] = f"{request.model_prefix}/amazon_forecast/{what}.parquet"
            storage.write_parquet(tables[what], table)
            if what == "backtest":
                windows = sorted({f"{d:%Y-%m-%d}" for d in table["window_start"]})
        log(f"predictor {base}: backtest windows starting {', '.join(windows)}; forecast of {h} days exported")
        return {
            "backend": BACKEND,
            "model_key": tables["forecast"],
            "backtest_key": tables["backtest"],
            "model_name": base,
            "predictor_arn": predictor_arn,
            "dataset_group_arn": group_arn,
            "forecast_arn": forecast_arn,
            "algorithm": self.algorithm,
            "label": "Amazon Forecast (" + ("AutoPredictor" if self.algorithm == "auto" else self.algorithm) + ")",
            "backtest_windows": windows,
            "encoding": manifest["encoding"],
            "predictor_status": predictor.get("Status"),
        }

    # --- forecasts ----------------------------------------------------------------------------------------------

    def predict(self, context, storage, model, records, quantiles, cut=0):
        if model.get("backend") != BACKEND:
            raise ValueError(
                f"model {model.get('version')} was trained by {model.get('backend')}, not Amazon Forecast: "
                "materialize deepar_model again (force_retrain) with FAVORITA_MODEL_BACKEND=amazon-forecast"
            )
        if cut:
            raise ValueError(
                "Amazon Forecast forecasts from the end of its data only; it answers the backtest from "
                "its own backtest export, not from a cut target"
            )
        encoding = CategoryEncoding.from_dict(model["encoding"])
        h = int(model["hyperparameters"]["prediction_length"])
        requests = [(record_item(r, encoding), first_forecast_day(r)) for r in records]
        after_cutoff = pd.Timestamp(model["cutoff"]) + pd.Timedelta(days=1)
        backtest = [day != after_cutoff for _item, day in requests]
        if any(backtest) and not all(backtest):
            raise ValueError("one request mixes the horizon and backtest windows; ask for them apart")
        what, key = (
            ("backtest export", model["backtest_key"]) if any(backtest) else ("forecast export", model["model_key"])
        )
        table = pd.read_parquet(io.BytesIO(storage.read_bytes(key)))
        try:
            return forecasts_for(table, requests, h, quantiles, f"{what} of predictor {model['model_name']}")
        except ForecastFormatError as error:
            hint = (
                ""
                if not any(backtest) or self.algorithm != "auto"
                else (
                    ". AutoPredictor chooses its backtest windows itself: set backtest_windows to 1, or name an "
                    "algorithm (FAVORITA_FORECAST_ALGORITHM=CNN-QR or Deep_AR_Plus), "
                    "which is given the evaluation's windows"
                )
            )
            raise ForecastJobFailed(f"{error}{hint}") from None

    def review(self, context, model, approved, reason):
        context.log.info(
            f"Amazon Forecast predictor {model.get('model_name')}: {'kept' if approved else 'not preferred'} "
            f"by the backtest ({reason}); Forecast has no model registry to record it in"
        )

    # --- clean-up -----------------------------------------------------------------------------------------------

    def leftovers(self, versions: list[str]) -> list[dict]:
        """The dataset groups (with their datasets) of ``versions``, found by name."""
        names = [forecast_name(self.name_prefix, v) for v in versions]
        groups = []
        for page in self.forecast.get_paginator("list_dataset_groups").paginate():
            for group in page["DatasetGroups"]:
                if any(group["DatasetGroupName"].startswith(n + "_") for n in names):
                    detail = self._call("describe_dataset_group", DatasetGroupArn=group["DatasetGroupArn"])
                    groups.append(
                        {
                            "name": group["DatasetGroupName"],
                            "arn": group["DatasetGroupArn"],
                            "datasets": list(detail.get("DatasetArns", [])),
                        }
                    )
        return groups

    def delete(self, groups: list[dict], log: Callable[[str], None] = print) -> None:
        """Each group's tree (its predictors, backtest exports, forecasts and their exports), and once that is gone,
        its datasets with their import jobs: DeleteResourceTree deletes a resource and what was made from it. The
        exported files in S3 stay (they go with the version's folder)."""
        for group in groups:
            self._call("delete_resource_tree", ResourceArn=group["arn"])
            self._gone(
                f"dataset group {group['name']}",
                lambda arn=group["arn"]: self._call("describe_dataset_group", DatasetGroupArn=arn),
                log,
            )
            for arn in group["datasets"]:
                self._call("delete_resource_tree", ResourceArn=arn)
            log(f"deleted Amazon Forecast dataset group {group['name']} and its {len(group['datasets'])} datasets")

    def _gone(self, what: str, describe: Callable[[], dict], log: Callable[[str], None]) -> None:
        """Wait until ``describe`` answers ResourceNotFoundException (a delete is asynchronous)."""

        def status() -> dict:
            try:
                return {"Status": describe().get("Status", "DELETE_IN_PROGRESS")}
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return {"Status": "DELETED"}
                raise

        wait_for(
            what,
            status,
            "Status",
            {"DELETED"},
            {"DELETE_FAILED"},
            self.max_hours * 3600,
            log,
            first_delay=self.poll_min_seconds,
            longest_delay=self.poll_max_seconds,
            error=ForecastJobFailed,
            reason_keys=("Message",),
        )


def exports_prefix(model_prefix: str) -> str:
    """Where a version's exports land: ``models/<version>/amazon_forecast/exports``."""
    return f"{model_prefix}/amazon_forecast/exports"


def _s3(storage) -> S3Storage:
    if not isinstance(storage, S3Storage):
        raise TypeError(
            "Amazon Forecast imports from S3 and exports there: it runs in aws mode only (FAVORITA_DEPLOYMENT=aws)"
        )
    return storage


__all__ = [
    "ALGORITHMS",
    "AmazonForecast",
    "AmazonForecastUnavailable",
    "ForecastJobFailed",
    "forecast_name",
    "training_name",
    "unavailable",
]
