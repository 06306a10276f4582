"""Amazon Forecast as the model backend. moto implements little of Forecast, so its client is botocore's Stubber:
every request is checked by botocore against Forecast's own service model (a wrong parameter name or type fails)
and against the exact parameters expected here; S3 is the emulator's, with export files in Forecast's format
written where the export jobs were told to write."""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from aws_mode.conftest import BUCKETS, REGION
from favorita_assets.aws import amazon_forecast as af
from favorita_assets.aws.amazon_forecast import AmazonForecast, AmazonForecastUnavailable, ForecastJobFailed
from favorita_assets.core.deepar_format import CategoryEncoding
from favorita_assets.resources.training import TrainingRequest
from favorita_assets.settings import Settings, SettingsError, build_resources

CONTEXT = SimpleNamespace(log=logging.getLogger("test"))
STAMP = "20261202101500"
VERSION = "forecast-2017-08-abcdef1234"
BASE = f"favorita_forecast_2017_08_abcdef1234_{STAMP}"
ROLE = "arn:aws:iam::123456789012:role/favorita-dev-forecast"
ACCOUNT = "arn:aws:forecast:eu-west-1:123456789012"
ENCODING = CategoryEncoding(store_nbr=[1, 2], family=["BREAD/BAKERY", "EGGS"], store_type=["A"], cluster=[3])
H, K = 3, 2
CUTOFF = pd.Timestamp("2017-08-15")
PREFIX = "training/cutoff_month=2017-08"
TAGS = [{"Key": "project", "Value": "favorita-forecast"}]
ITEMS = ["1_BREAD_BAKERY", "1_EGGS", "2_BREAD_BAKERY", "2_EGGS"]


def forecast_client():
    return boto3.client("forecast", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


class Stubbed(AmazonForecast):
    """The trainer with its Forecast client replaced by the test's stubbed one."""

    @property
    def forecast(self):
        return CLIENT["forecast"]


CLIENT: dict = {}


@pytest.fixture
def stack(aws_stack, monkeypatch):
    env = {**aws_stack, "FAVORITA_MODEL_BACKEND": "amazon-forecast", "FAVORITA_FORECAST_ROLE_ARN": ROLE}
    resources = build_resources(Settings.from_env(env))
    trainer = resources["trainer"]
    assert isinstance(trainer, AmazonForecast) and resources["channels"].forecast_datasets
    client = forecast_client()
    CLIENT["forecast"] = client
    sleeps: list[float] = []
    monkeypatch.setattr(af, "utc_stamp", lambda: STAMP)
    monkeypatch.setattr("favorita_assets.aws.clients._sleep", sleeps.append)
    stubbed = Stubbed(
        **{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws, "poll_min_seconds": 1.0, "poll_max_seconds": 4.0}
    )
    with Stubber(client) as stubber:
        yield SimpleNamespace(trainer=stubbed, storage=resources["storage"], stubber=stubber, sleeps=sleeps)


def _manifest(storage):
    storage.write_json(
        f"{PREFIX}/manifest.json",
        {
            "cutoff": f"{CUTOFF:%Y-%m-%d}",
            "prediction_length": H,
            "backtest_windows": K,
            "encoding": ENCODING.to_dict(),
            "forecast_datasets": {
                "files": {n: [f"{PREFIX}/forecast/{n}/part-00000.csv"] for n in ("target", "related", "items")},
                "series": 4,
            },
        },
    )


def _exports(storage, windows=K):
    """What Forecast's export jobs write, in its format: the backtest's forecasted-values and the forecast, each in
    two parts, under the paths the jobs were given."""
    root = f"models/{VERSION}/amazon_forecast/exports"
    rows = []
    for w in range(windows):
        start = CUTOFF - pd.Timedelta(days=(windows - w) * H - 1)
        for i, item in enumerate(ITEMS):
            for d in range(H):
                day = start + pd.Timedelta(days=d)
                v = 10 * w + i + d / 10
                rows.append(
                    f"{item},{day:%Y-%m-%d}T00:00:00Z,{v},{start:%Y-%m-%d}T00:00:00,"
                    f"{start + pd.Timedelta(days=H - 1):%Y-%m-%d}T00:00:00,{v - 1},{v},{v + 1},{v + 0.05}"
                )
    header = "item_id,timestamp,target_value,backtestwindow_start_time,backtestwindow_end_time,p10,p50,p90,mean\n"
    half = len(rows) // 2
    for n, chunk in enumerate((rows[:half], rows[half:])):
        storage.write_bytes(
            f"{root}/backtest/forecasted-values/{BASE}_backtest_{STAMP}_part{n}.csv",
            (header + "\n".join(chunk) + "\n").encode(),
        )
    storage.write_bytes(
        f"{root}/backtest/accuracy-metrics-values/{BASE}_backtest_{STAMP}_part0.csv",
        b"item_id,backtest_window,wQL[0.1],wQL[0.5],wQL[0.9]\n1_EGGS,Summary,0.1,0.2,0.1\n",
    )
    lines = [
        f"{item},{CUTOFF + pd.Timedelta(days=d + 1):%Y-%m-%d}T00:00:00Z,{i},{i + 1},{i + 2},{i + 1.1}"
        for i, item in enumerate(ITEMS)
        for d in range(H)
    ]
    storage.write_bytes(
        f"{root}/forecast/{BASE}_export_{STAMP}_part0.csv",
        ("item_id,date,p10,p50,p90,mean\n" + "\n".join(lines) + "\n").encode(),
    )


def _request():
    return TrainingRequest(
        version=VERSION,
        channels_prefix=PREFIX,
        hyperparameters={"prediction_length": H},
        cardinality=[2, 2, 1, 1],
        model_prefix=f"models/{VERSION}",
    )


def _expect_training(s, predictor_status=("CREATE_IN_PROGRESS", "ACTIVE"), message=None):
    bucket = BUCKETS["artifacts"]
    stub = s.stubber
    group = f"{ACCOUNT}:dataset-group/{BASE}"
    stub.add_response(
        "create_dataset_group", {"DatasetGroupArn": group}, {"DatasetGroupName": BASE, "Domain": "RETAIL", "Tags": TAGS}
    )
    arns = {}
    for name, kind in (
        ("target", "TARGET_TIME_SERIES"),
        ("related", "RELATED_TIME_SERIES"),
        ("items", "ITEM_METADATA"),
    ):
        arns[name] = f"{ACCOUNT}:dataset/{BASE}_{name}"
        schema = {
            "target": ["item_id", "timestamp", "demand"],
            "related": [
                "item_id",
                "timestamp",
                "log1p_onpromotion",
                "is_holiday",
                "is_event",
                "is_payday",
                "store_closed",
            ],
            "items": ["item_id", "store_nbr", "family", "store_type", "cluster"],
        }[name]
        types = {"item_id": "string", "timestamp": "timestamp", "demand": "float"}
        default = "string" if name == "items" else "float"
        attributes = [{"AttributeName": a, "AttributeType": types.get(a, default)} for a in schema]
        expected = {
            "DatasetName": f"{BASE}_{name}",
            "Domain": "RETAIL",
            "DatasetType": kind,
            "Schema": {"Attributes": attributes},
            "Tags": TAGS,
        }
        if name != "items":
            expected["DataFrequency"] = "D"
        stub.add_response("create_dataset", {"DatasetArn": arns[name]}, expected)
    stub.add_response("update_dataset_group", {}, {"DatasetGroupArn": group, "DatasetArns": list(arns.values())})
    imports = {}
    for name in arns:
        imports[name] = f"{ACCOUNT}:dataset-import-job/{BASE}_{name}/{BASE}_{name}"
        expected = {
            "DatasetImportJobName": f"{BASE}_{name}",
            "DatasetArn": arns[name],
            "Format": "CSV",
            "Tags": TAGS,
            "DataSource": {"S3Config": {"Path": f"s3://{bucket}/{PREFIX}/forecast/{name}/", "RoleArn": ROLE}},
        }
        if name != "items":
            expected["TimestampFormat"] = "yyyy-MM-dd"
        stub.add_response("create_dataset_import_job", {"DatasetImportJobArn": imports[name]}, expected)
    for n, name in enumerate(arns):
        for status in ("CREATE_PENDING", "CREATE_IN_PROGRESS", "ACTIVE") if n == 0 else ("ACTIVE",):
            stub.add_response("describe_dataset_import_job", {"Status": status}, {"DatasetImportJobArn": imports[name]})
    predictor = f"{ACCOUNT}:predictor/{BASE}"
    stub.add_response(
        "create_auto_predictor",
        {"PredictorArn": predictor},
        {
            "PredictorName": BASE,
            "ForecastHorizon": H,
            "ForecastTypes": ["0.1", "0.5", "0.9", "mean"],
            "ForecastFrequency": "D",
            "OptimizationMetric": "AverageWeightedQuantileLoss",
            "Tags": TAGS,
            "DataConfig": {
                "DatasetGroupArn": group,
                "AttributeConfigs": [
                    {"AttributeName": "demand", "Transformations": {"middlefill": "nan", "backfill": "nan"}}
                ],
                "AdditionalDatasets": [{"Name": "holiday", "Configuration": {"CountryCode": ["EC"]}}],
            },
        },
    )
    for status in predictor_status:
        stub.add_response(
            "describe_auto_predictor",
            {"Status": status, **({"Message": message} if message and status == "CREATE_FAILED" else {})},
            {"PredictorArn": predictor},
        )
    if "ACTIVE" not in predictor_status:
        return
    root = f"s3://{bucket}/models/{VERSION}/amazon_forecast/exports"
    backtest = f"{ACCOUNT}:predictor-backtest-export-job/{BASE}/{BASE}_backtest"
    stub.add_response(
        "create_predictor_backtest_export_job",
        {"PredictorBacktestExportJobArn": backtest},
        {
            "PredictorBacktestExportJobName": f"{BASE}_backtest",
            "PredictorArn": predictor,
            "Format": "CSV",
            "Tags": TAGS,
            "Destination": {"S3Config": {"Path": f"{root}/backtest/", "RoleArn": ROLE}},
        },
    )
    forecast = f"{ACCOUNT}:forecast/{BASE}"
    stub.add_response(
        "create_forecast",
        {"ForecastArn": forecast},
        {"ForecastName": BASE, "PredictorArn": predictor, "ForecastTypes": ["0.1", "0.5", "0.9", "mean"], "Tags": TAGS},
    )
    stub.add_response(
        "describe_predictor_backtest_export_job", {"Status": "ACTIVE"}, {"PredictorBacktestExportJobArn": backtest}
    )
    stub.add_response("describe_forecast", {"Status": "ACTIVE"}, {"ForecastArn": forecast})
    export = f"{ACCOUNT}:forecast-export-job/{BASE}/{BASE}_export"
    stub.add_response(
        "create_forecast_export_job",
        {"ForecastExportJobArn": export},
        {
            "ForecastExportJobName": f"{BASE}_export",
            "ForecastArn": forecast,
            "Format": "CSV",
            "Tags": TAGS,
            "Destination": {"S3Config": {"Path": f"{root}/forecast/", "RoleArn": ROLE}},
        },
    )
    stub.add_response("describe_forecast_export_job", {"Status": "ACTIVE"}, {"ForecastExportJobArn": export})


def _records(start_offset: int, length: int = 20) -> list[dict]:
    """Inference-like records of the four series whose target ends ``start_offset`` days before the cut-off."""
    start = CUTOFF - pd.Timedelta(days=length - 1 + start_offset)
    return [
        {
            "start": f"{start:%Y-%m-%d} 00:00:00",
            "target": [1.0] * length,
            "cat": [s, f, 0, 0],
            "dynamic_feat": [[0.0] * (length + H)] * 5,
        }
        for s in range(2)
        for f in range(2)
    ]


def test_training_makes_the_datasets_predictor_and_exports_and_forecasts_come_from_them(stack):
    _manifest(stack.storage)
    _exports(stack.storage)
    _expect_training(stack)
    info = stack.trainer.train(CONTEXT, stack.storage, _request(), on_epoch=None)
    stack.stubber.assert_no_pending_responses()
    assert info["backend"] == "amazon-forecast" and info["model_name"] == BASE
    assert info["predictor_arn"].endswith(f":predictor/{BASE}") and info["backtest_windows"] == [
        "2017-08-10",
        "2017-08-13",
    ]
    assert info["label"] == "Amazon Forecast (AutoPredictor)"
    # The waits backed off from the first delay by 1.6x up to the longest: two polls of the first import, one of
    # the predictor.
    assert stack.sleeps == [1.0, 1.6, 1.0]
    model = {**info, "version": VERSION, "cutoff": f"{CUTOFF:%Y-%m-%d}", "hyperparameters": {"prediction_length": H}}
    # The evaluation's request: every window, oldest first, then the horizon.
    windows = [r for w in range(K) for r in _records((K - w) * H)]
    backtest = stack.trainer.predict(CONTEXT, stack.storage, model, windows, (0.1, 0.5, 0.9))
    assert len(backtest) == K * 4
    assert np.allclose(backtest[1]["mean"], [1.05, 1.15, 1.25]) and np.allclose(backtest[4 + 2][0.9], [13, 13.1, 13.2])
    ahead = stack.trainer.predict(CONTEXT, stack.storage, model, _records(0), (0.1, 0.5, 0.9))
    assert [a["mean"][0] for a in ahead] == [1.1, 2.1, 3.1, 4.1] and ahead[3][0.1].tolist() == [3.0] * H
    # A window the backtest does not hold is named, with what AutoPredictor's windows were.
    with pytest.raises(
        ForecastJobFailed, match="window starting 2017-08-07 .* AutoPredictor chooses its backtest windows"
    ):
        stack.trainer.predict(CONTEXT, stack.storage, model, _records(3 * H), (0.5,))


def test_a_predictor_that_ends_create_failed_fails_with_its_message(stack):
    _manifest(stack.storage)
    _expect_training(
        stack,
        predictor_status=("CREATE_IN_PROGRESS", "CREATE_FAILED"),
        message="Not enough data: the target time series needs at least 3 observations per item",
    )
    with pytest.raises(ForecastJobFailed, match=f"predictor {BASE} ended CREATE_FAILED: Not enough data"):
        stack.trainer.train(CONTEXT, stack.storage, _request(), on_epoch=None)


@pytest.mark.parametrize(
    "code, message",
    [
        ("AccessDeniedException", "User is not authorized to perform: forecast:CreateDatasetGroup"),
        ("ValidationException", "Amazon Forecast is not available to new customers"),
    ],
)
def test_an_account_without_forecast_is_told_so_and_pointed_to_deepar(stack, code, message):
    _manifest(stack.storage)
    stack.stubber.add_client_error("create_dataset_group", service_error_code=code, service_message=message)
    with pytest.raises(AmazonForecastUnavailable) as raised:
        stack.trainer.train(CONTEXT, stack.storage, _request(), on_epoch=None)
    text = str(raised.value)
    assert message in text and "closed Amazon Forecast to new customers" in text and "SageMaker DeepAR" in text


def test_channels_without_forecast_datasets_are_refused_before_any_call(stack):
    stack.storage.write_json(f"{PREFIX}/manifest.json", {"prediction_length": H, "encoding": ENCODING.to_dict()})
    with pytest.raises(ForecastJobFailed, match="has no Amazon Forecast datasets: materialize deepar_training_data"):
        stack.trainer.train(CONTEXT, stack.storage, _request(), on_epoch=None)


def test_every_request_shape_is_forecasts_own(stack):
    """Each request builder's output against botocore's model of the Forecast API, in both predictor modes and with
    a KMS key: a misspelt parameter, a wrong type or a missing required member fails here."""
    model = forecast_client().meta.service_model
    validator = ParamValidator()

    def check(operation: str, params: dict) -> None:
        report = validator.validate(params, model.operation_model(operation).input_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"

    group = f"{ACCOUNT}:dataset-group/{BASE}"
    for kms in (None, "arn:aws:kms:eu-west-1:123456789012:key/1"):
        trainer = stack.trainer.model_copy(update={"kms_key_arn": kms})
        for params in trainer.dataset_requests(BASE).values():
            check("CreateDataset", params)
        for name in ("target", "related", "items"):
            check("CreateDatasetImportJob", trainer.import_request(BASE, name, f"{ACCOUNT}:dataset/x", "s3://b/p/"))
        for algorithm in ("auto", "CNN-QR", "Deep_AR_Plus"):
            operation, params = trainer.model_copy(update={"algorithm": algorithm}).predictor_request(
                BASE, group, 28, 3
            )
            check(
                {"create_auto_predictor": "CreateAutoPredictor", "create_predictor": "CreatePredictor"}[operation],
                params,
            )
    operation, params = stack.trainer.model_copy(update={"algorithm": "CNN-QR"}).predictor_request(BASE, group, 28, 3)
    assert params["EvaluationParameters"] == {"NumberOfBacktestWindows": 3, "BackTestWindowOffset": 28}
    assert params["AlgorithmArn"] == "arn:aws:forecast:::algorithm/CNN-QR"
    assert params["InputDataConfig"]["SupplementaryFeatures"] == [{"Name": "holiday", "Value": "EC"}]
    with pytest.raises(ValueError, match="backtests 1 to 5 windows"):
        stack.trainer.model_copy(update={"algorithm": "CNN-QR"}).predictor_request(BASE, group, 28, 6)
    # Names: letters, digits and _, at most 63, as Forecast requires (moto would take anything).
    name = af.forecast_name("favorita-prod", "forecast-2017-08-abcdef1234", STAMP, "backtest")
    assert len(name) <= 63 and name.replace("_", "").isalnum() and name[0].isalpha()


def test_a_long_prefix_keeps_two_trainings_a_second_apart_apart_and_findable():
    """With the longest name prefix the IAM module takes (30 characters), prefix, version and stamp pass Forecast's 63
    characters. Cut there, two trainings of one version a second apart would get one name (the second refused);
    the stamp gives way to a hash instead, after the prefix and version that clean-up looks for."""
    prefix, version = "favorita-production-eu-west-1x", "forecast-2017-08-abcdef1234"
    first, second = (af.training_name(prefix, version, stamp) for stamp in ("20260101t120000", "20260101t120001"))
    head = af.forecast_name(prefix, version) + "_"
    assert first != second and all(len(n) == 63 and n.startswith(head) for n in (first, second))
    assert all(re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", n) for n in (first, second))
    assert af.training_name(prefix, version, "20260101t120000") == first
    short = af.training_name("favorita-dev", version, "20260101t120000")  # fits: the stamp as it is
    assert short == "favorita_dev_forecast_2017_08_abcdef1234_20260101t120000"


def test_clean_up_deletes_each_removed_versions_groups_then_their_datasets(stack):
    group = {"DatasetGroupName": BASE, "DatasetGroupArn": f"{ACCOUNT}:dataset-group/{BASE}"}
    other = {
        "DatasetGroupName": "favorita_forecast_2017_07_0000000000_1",
        "DatasetGroupArn": f"{ACCOUNT}:dataset-group/o",
    }
    datasets = [f"{ACCOUNT}:dataset/{BASE}_target", f"{ACCOUNT}:dataset/{BASE}_items"]
    stub = stack.stubber
    stub.add_response("list_dataset_groups", {"DatasetGroups": [group, other]}, {})
    stub.add_response(
        "describe_dataset_group", {"DatasetArns": datasets}, {"DatasetGroupArn": group["DatasetGroupArn"]}
    )
    groups = stack.trainer.leftovers([VERSION])
    assert [g["name"] for g in groups] == [BASE]
    stub.add_response("delete_resource_tree", {}, {"ResourceArn": group["DatasetGroupArn"]})
    stub.add_response(
        "describe_dataset_group", {"Status": "DELETE_PENDING"}, {"DatasetGroupArn": group["DatasetGroupArn"]}
    )
    stub.add_client_error("describe_dataset_group", service_error_code="ResourceNotFoundException")
    for arn in datasets:
        stub.add_response("delete_resource_tree", {}, {"ResourceArn": arn})
    stack.trainer.delete(groups, log=CONTEXT.log.info)
    stub.assert_no_pending_responses()


def test_the_backend_is_aws_only_and_its_settings_are_checked(aws_stack):
    with pytest.raises(SettingsError, match="aws-mode setting.*no local equivalent.*FAVORITA_DEPLOYMENT=aws"):
        Settings.from_env({"FAVORITA_MODEL_BACKEND": "amazon-forecast"})
    env = {**aws_stack, "FAVORITA_MODEL_BACKEND": "amazon-forecast"}
    with pytest.raises(
        SettingsError, match="needs FAVORITA_FORECAST_ROLE_ARN: a role that forecast.amazonaws.com may assume"
    ):
        Settings.from_env(env)
    with pytest.raises(SettingsError, match="FAVORITA_FORECAST_ALGORITHM='Prophet2'"):
        Settings.from_env({**env, "FAVORITA_FORECAST_ROLE_ARN": ROLE, "FAVORITA_FORECAST_ALGORITHM": "Prophet2"})
    with pytest.raises(SettingsError, match="FAVORITA_MODEL_BACKEND='forecast'"):
        Settings.from_env({**aws_stack, "FAVORITA_MODEL_BACKEND": "forecast"})
    # SageMaker DeepAR stays the default, and its channels carry no Forecast files.
    resources = build_resources(Settings.from_env(aws_stack))
    assert type(resources["trainer"]).__name__ == "SageMakerDeepAR" and not resources["channels"].forecast_datasets


def test_the_asset_graph_trains_and_publishes_through_amazon_forecast(aws_stack, moto_url, small_data_dir, tmp_path):
    """The whole graph in aws mode with FAVORITA_MODEL_BACKEND=amazon-forecast (a named algorithm, given the
    evaluation's 3 windows): Glue writes Forecast's CSVs beside the channels, the predictor's backtest export is
    scored beside the challengers, and its forecast export is the published forecasts table."""
    import io

    from aws_mode.conftest import aws_resources, direct_client
    from aws_mode.emulator import EmulatedForecastClient
    from favorita_assets import storage_keys as keys
    from favorita_assets.pipeline import run_config, run_pipeline

    env = {
        **aws_stack,
        "FAVORITA_MODEL_BACKEND": "amazon-forecast",
        "FAVORITA_FORECAST_ROLE_ARN": ROLE,
        "FAVORITA_FORECAST_ALGORITHM": "CNN-QR",
    }
    settings, resources = aws_resources(env, small_data_dir)
    trainer = resources["trainer"]
    emulated = EmulatedForecastClient(direct_client(moto_url, "s3"), REGION)
    CLIENT["forecast"] = emulated
    resources["trainer"] = Stubbed(
        **{
            **trainer.model_dump(exclude={"aws"}),
            "aws": trainer.aws,
            "poll_min_seconds": 0.01,
            "poll_max_seconds": 0.01,
        }
    )
    report = run_pipeline(settings, config=run_config(prediction_length=16), resources=resources)
    assert report.success, report.failures
    s3 = direct_client(moto_url, "s3")

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=BUCKETS["artifacts"], Key=key)["Body"].read()

    manifest = json.loads(read(keys.training_manifest(report.partition_key)))
    n = len(pd.DataFrame(manifest["series"]))
    assert manifest["forecast_datasets"]["series"] == n
    calls = [operation for operation, _ in emulated.requests if operation.startswith("create_")]
    assert calls == [
        "create_dataset_group",
        "create_dataset",
        "create_dataset",
        "create_dataset",
        *["create_dataset_import_job"] * 3,
        "create_predictor",
        "create_predictor_backtest_export_job",
        "create_forecast",
        "create_forecast_export_job",
    ]
    assert emulated.predictor["EvaluationParameters"] == {"NumberOfBacktestWindows": 3, "BackTestWindowOffset": 16}
    assert len(emulated.imports["ITEM_METADATA"].splitlines()) == n
    model = json.loads(read(keys.model_pointer(report.partition_key)))
    assert model["version"].startswith("forecast-") and model["backend"] == "amazon-forecast"
    # The backtest export forecast what was sold, so Amazon Forecast wins every family and is published.
    metrics = json.loads(read(keys.evaluation_metrics(report.partition_key)))
    assert set(metrics["champions"].values()) == {"deepar"} and not metrics["failed"]
    assert metrics["candidates"]["deepar"]["label"] == "Amazon Forecast (CNN-QR)"
    backtest = pd.read_parquet(io.BytesIO(read(keys.evaluation_backtest(report.partition_key))))
    assert np.allclose(backtest["deepar_mean"], backtest["actual"].fillna(0))
    forecasts = pd.read_parquet(io.BytesIO(read(keys.forecasts(report.partition_key))))
    assert len(forecasts) == n * 16 and (forecasts["model_version"] == model["version"]).all()
    assert np.allclose(forecasts["mean"].to_numpy().reshape(n, 16)[:, 0], 3.0 * np.arange(1, n + 1))


def test_a_new_promotion_plan_makes_a_new_forecast_version_but_not_a_new_deepar_version(stack):
    """Forecast's predictor and its export use the inference channel (the horizon's promotions and holidays): a new
    test.csv changes only that channel, so the data version, and with it this backend's model version, so the
    forecast is made again. DeepAR's version hashes the train and test channels only (it forecasts from the
    inference channel at predict time, never from a stored forecast)."""
    from favorita_assets.modeling.models import trainer_model_version as model_version
    from favorita_assets.resources.training import LocalDeepAR

    manifest = {"fingerprint": "f" * 64, "data_version": "0123456789abcdef"}
    new_plan = {**manifest, "data_version": "fedcba9876543210"}  # same train and test channels, another inference
    hp = {"prediction_length": H}
    before = model_version(stack.trainer, "2017-07-30", manifest, hp, 7)
    after = model_version(stack.trainer, "2017-07-30", new_plan, hp, 7)
    assert before.startswith("forecast-2017-07-") and after != before
    assert model_version(stack.trainer, "2017-07-30", dict(manifest), hp, 7) == before  # a re-run reuses it
    deepar = LocalDeepAR()
    assert model_version(deepar, "2017-07-30", manifest, hp, 7) == model_version(deepar, "2017-07-30", new_plan, hp, 7)


def test_the_channels_manifest_records_the_data_version_of_all_three_channels():
    from favorita_assets.core.channels import training_manifest

    summary = {
        "encoding": CategoryEncoding(store_nbr=[1], family=["EGGS"], store_type=["A"], cluster=[1]).to_dict(),
        "series": {"store_nbr": [1], "family": ["EGGS"]},
        "fingerprint": "f" * 64,
        "data_version": "0123456789abcdef",
        "promotions_source": "test.csv",
        "small_count_share": 0.0,
        "likelihood": "negative-binomial",
        "yearly_closures": {},
    }
    dates = (pd.Timestamp("2017-01-01"), pd.Timestamp("2017-07-30"))
    manifest = training_manifest("2017-07-30", pd.Timestamp("2017-07-30"), dates, H, 1, summary)
    assert manifest["data_version"] == "0123456789abcdef"
