"""The whole asset graph in aws mode against moto's server on 127.0.0.1: S3, Glue through Dagster Pipes (the real
job script run as Glue would run it), SageMaker training, model and inference, with faults injected on the wire."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import requests

from aws_mode.conftest import BUCKETS, REGION, aws_resources, direct_client
from aws_mode.emulator import Fault, operation, s3_put
from favorita_assets import storage_keys as keys
from favorita_assets.aws.sagemaker import deepar_image
from favorita_assets.core import calibration
from favorita_assets.pipeline import run_config, run_pipeline

FAST = {"epochs": 2, "num_cells": 8}
H = 16


DECILE_FACTORS = [0.5 + 1.5 * i / 8 for i in range(9)]  # P10 at 0.5x ... P90 at 2x the canned value


def canned_point(values: np.ndarray) -> np.ndarray:
    """The point forecast the product makes of a canned answer: expm1 of the mean of log1p over its deciles."""
    return np.expm1(np.mean([np.log1p(f * np.asarray(values, dtype=float)) for f in DECILE_FACTORS], axis=0))


def canned_predictions(means: np.ndarray) -> dict:
    """A DeepAR endpoint answer: series i forecasts means[i] (one value a day), its deciles from 0.5x (P10) to 2x
    (P90) in even steps."""
    return {
        "predictions": [
            {
                "mean": list(map(float, m)),
                "quantiles": {
                    f"{q / 10:g}": [f * v for v in m] for q, f in zip(range(1, 10), DECILE_FACTORS, strict=True)
                },
            }
            for m in means
        ]
    }


def backtest_actuals(data_dir, h: int) -> np.ndarray:
    """What every series (in the channels' order: store, then family) really sold in the last ``h`` days."""
    train = pd.read_csv(data_dir / "train.csv", parse_dates=["date"])
    grid = train.pivot_table(index=["store_nbr", "family"], columns="date", values="sales", aggfunc="sum")
    return grid.iloc[:, -h:].fillna(0.0).to_numpy()


def queue_endpoint_results(moto_url: str, bodies: list[dict]) -> None:
    """moto's canned-result API: invoke_endpoint answers these, in order."""
    payload = {
        "region": REGION,
        "results": [{"Body": json.dumps(b), "ContentType": "application/json"} for b in bodies],
    }
    assert (
        requests.post(f"{moto_url}/moto-api/static/sagemaker/endpoint-results", json=payload, timeout=10).status_code
        == 201
    )


def local_manifest(data_dir, partition: str, like: dict, folder) -> dict:
    """The manifest the local backend writes for ``partition`` on the same data (cut-off and sizes as in ``like``)."""
    from favorita_assets.core.channels import build_channel_files, training_manifest
    from favorita_assets.core.cleaning import clean_tables
    from favorita_assets.core.schema import read_kaggle_csv

    frames = {
        t: read_kaggle_csv(data_dir / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events", "test")
    }
    cleaned = clean_tables({t: frames[t] for t in ("train", "stores", "oil", "holidays_events")})
    cutoff, h, windows = pd.Timestamp(like["cutoff"]), like["prediction_length"], like["backtest_windows"]
    summary = build_channel_files(
        cleaned, frames["test"], frames["stores"], frames["holidays_events"], cutoff, h, windows, folder
    )
    return training_manifest(partition, cutoff, (cleaned["date"].min(), cleaned["date"].max()), h, windows, summary)


def read_s3(moto_url, bucket, key) -> bytes:
    return direct_client(moto_url, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_asset_graph_runs_in_aws_mode_end_to_end(aws_stack, moto_url, proxy, small_data_dir, tmp_path):
    n_series = 12
    # The backtest answer is what really happened on each of the 3 windows (one request holds them all, oldest
    # first), so DeepAR wins every family and its forecasts (the second answer) are published.
    history = backtest_actuals(small_data_dir, 3 * H)
    actual = np.stack([history[:, w * H : (w + 1) * H] for w in range(3)])
    ahead = np.repeat(3.0 * np.arange(1, n_series + 1)[:, None], H, axis=1)
    queue_endpoint_results(moto_url, [canned_predictions(np.vstack(actual)), canned_predictions(ahead)])
    # Throttling on the training job's creation and a 503 on a write to S3: both must be retried and survived.
    throttled = proxy.add(
        Fault(
            operation("SageMaker.CreateTrainingJob"),
            status=400,
            times=2,
            body=b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
            headers={"Content-Type": "application/x-amz-json-1.1"},
        )
    )
    unavailable = proxy.add(
        Fault(
            s3_put("forecasts.parquet"),
            status=503,
            times=1,
            body=b"<Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error>",
        )
    )
    settings, resources = aws_resources(aws_stack, small_data_dir, inference_mode="endpoint")
    report = run_pipeline(settings, config=run_config(**FAST), resources=resources)
    glue = resources["cleaning"].last_client
    assert report.success, (report.failures, [r.stderr[-3000:] for r in glue.runs.values()])
    assert throttled.seen == 2 and unavailable.seen == 1

    # Glue: the job ran the repository's script with the landed keys and reported back through Pipes.
    ((run_id, argv),) = glue.argv.items()
    args = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert args["--train_uri"].startswith(f"s3://{BUCKETS['raw']}/raw/train/sha256=")
    assert args["--output_uri"].startswith(f"s3://{BUCKETS['processed']}/processed/cleaned_series/version=")
    assert "--dagster-pipes-context" in args and "--dagster-pipes-messages" in args
    assert glue.runs[run_id].returncode == 0, glue.runs[run_id].stderr
    cleaned = report.materialized["cleaned_series"]
    assert cleaned["engine"] == "pandas" and cleaned["series"] == n_series and cleaned["rows"] > 4000
    assert [c for c in report.checks if c.check == "sales_reconcile"][0].passed

    # Glue again: the same job built the DeepAR channels (--task channels) from the cleaned series' version prefix;
    # they are ordered parts, and the manifest is exactly the local build's on the same data.
    channels_glue = resources["channels"].last_client
    ((channels_run, channels_argv),) = channels_glue.argv.items()
    channel_args = dict(zip(channels_argv[2::2], channels_argv[3::2], strict=True))
    assert channels_glue.runs[channels_run].returncode == 0, channels_glue.runs[channels_run].stderr
    assert channel_args["--task"] == "channels" and channel_args["--cleaned_uri"] == args["--output_uri"]
    prefix = keys.training_prefix(report.partition_key)
    stored = [
        o["Key"]
        for o in direct_client(moto_url, "s3").list_objects_v2(Bucket=BUCKETS["artifacts"], Prefix=f"{prefix}/")[
            "Contents"
        ]
    ]
    assert {f"{prefix}/{n}/part-00000.json" for n in ("train", "test", "inference")} <= set(stored)
    assert not [k for k in stored if "/_staging/" in k]
    assert report.materialized["deepar_training_data"]["channels_built_by"].startswith(
        "Glue job favorita-dev-clean-series"
    )
    built = json.loads(read_s3(moto_url, BUCKETS["artifacts"], keys.training_manifest(report.partition_key)))
    assert built == local_manifest(small_data_dir, report.partition_key, built, tmp_path)

    # Glue a third time: the backtest's challengers (--task challengers) from those channels, their per-series
    # forecasts left as Parquet beside the backtest and read back by the Dagster run.
    challengers_glue = resources["challengers"].last_client
    ((challengers_run, challengers_argv),) = challengers_glue.argv.items()
    challenger_args = dict(zip(challengers_argv[2::2], challengers_argv[3::2], strict=True))
    assert challengers_glue.runs[challengers_run].returncode == 0, challengers_glue.runs[challengers_run].stderr
    assert challenger_args["--task"] == "challengers"
    assert challenger_args["--channels_uri"] == f"s3://{BUCKETS['artifacts']}/{prefix}"
    challengers = keys.evaluation_challengers(report.partition_key)
    summary = json.loads(read_s3(moto_url, BUCKETS["artifacts"], f"{challengers}/_glue_challengers.json"))
    assert summary["parts"] == [f"s3://{BUCKETS['artifacts']}/{challengers}/forecasts/part-00000.parquet"]
    assert summary["series"] == len(built["series"]["family"]) and not summary["failed"]

    # SageMaker: the exact CreateTrainingJob request.
    sm = direct_client(moto_url, "sagemaker")
    (job_summary,) = sm.list_training_jobs()["TrainingJobSummaries"]
    job = sm.describe_training_job(TrainingJobName=job_summary["TrainingJobName"])
    model = json.loads(read_s3(moto_url, BUCKETS["artifacts"], keys.model_pointer(report.partition_key)))
    training = f"s3://{BUCKETS['artifacts']}/{keys.training_prefix(report.partition_key)}"
    assert job["AlgorithmSpecification"]["TrainingImage"] == deepar_image(REGION)
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith(
        ".dkr.ecr.eu-west-1.amazonaws.com/forecasting-deepar:1"
    )
    assert job["RoleArn"] == aws_stack["FAVORITA_SAGEMAKER_ROLE_ARN"]
    assert job["HyperParameters"] == {
        "time_freq": "D",
        "prediction_length": "16",
        "context_length": "56",
        "epochs": "2",
        "num_cells": "8",
        "num_layers": "2",
        "likelihood": "negative-binomial",
        "mini_batch_size": "64",
        "learning_rate": "0.003",
        "dropout_rate": "0.1",
        "embedding_dimension": "10",
        "num_eval_samples": "100",
        "cardinality": json.dumps(model["hyperparameters"] and json.loads(job["HyperParameters"]["cardinality"])),
    }
    manifest = json.loads(read_s3(moto_url, BUCKETS["artifacts"], keys.training_manifest(report.partition_key)))
    assert json.loads(job["HyperParameters"]["cardinality"]) == manifest["cardinality"]
    # likelihood "auto" reaches SageMaker as the name the training data resolved it to (sales: small counts)
    assert manifest["likelihood_auto"] == "negative-binomial" and manifest["small_count_share"] >= 0.05
    assert [(c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"]) for c in job["InputDataConfig"]] == [
        ("train", f"{training}/train/"),
        ("test", f"{training}/test/"),
    ]
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKETS['artifacts']}/models/{model['version']}/"
    assert model["training_job_name"] == job["TrainingJobName"] and model["backend"] == "sagemaker"
    assert (
        sm.describe_model(ModelName=model["model_name"])["PrimaryContainer"]["ModelDataUrl"] == model["model_artifact"]
    )
    # The endpoint served the backtest and the forecasts, then was deleted with its configuration: it bills by the
    # hour, used or not.
    assert not [e for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"] == f"favorita-{model['version']}"]
    assert not sm.list_endpoint_configs()["EndpointConfigs"]

    # The canned endpoint answers, parsed: the backtest holds the first, window by window, in series order.
    backtest = pd.read_parquet(
        io.BytesIO(read_s3(moto_url, BUCKETS["artifacts"], keys.evaluation_backtest(report.partition_key)))
    )
    assert np.allclose(backtest["deepar_mean"].to_numpy().reshape(3, n_series, H), canned_point(actual))
    assert np.allclose(backtest["actual"].to_numpy().reshape(3, n_series, H), actual)
    metrics = json.loads(read_s3(moto_url, BUCKETS["artifacts"], keys.evaluation_metrics(report.partition_key)))
    assert set(metrics["champions"].values()) == {"deepar"} and not metrics["failed"]

    # Everything a planner reads is in the artifacts bucket, in the local layout.
    forecasts = pd.read_parquet(
        io.BytesIO(read_s3(moto_url, BUCKETS["artifacts"], keys.forecasts(report.partition_key)))
    )
    assert list(forecasts.columns) == [
        "date",
        "store_nbr",
        "family",
        "days_ahead",
        "store_closed",
        "mean",
        "p10",
        "p50",
        "p90",
        "model_version",
    ]
    assert len(forecasts) == n_series * H
    assert report.materialized["forecast_evaluation"]["champion"].startswith("deepar (4 families)")
    assert np.allclose(forecasts["mean"].to_numpy().reshape(n_series, H), canned_point(ahead))  # in series order
    assert forecasts["model_version"].str.startswith("deepar-").all()
    # The published band is DeepAR's own (its P10 / P50 / P90) calibrated on its backtest errors, per family.
    for family, rows in forecasts.groupby("family"):
        canned = ahead.ravel()[rows.index.to_numpy()]
        own = {0.1: DECILE_FACTORS[0] * canned, 0.5: DECILE_FACTORS[4] * canned, 0.9: DECILE_FACTORS[8] * canned}
        band = calibration.apply(own, metrics["offsets"]["deepar"][family])
        assert np.allclose(rows["p10"], band[0.1]) and np.allclose(rows["p90"], band[0.9])
    # A perfect backtest narrows DeepAR's own band (BOOKS sold nothing in the windows: nothing to learn, no change).
    assert metrics["offsets"]["deepar"]["BEVERAGES"]["high"] < 0 and metrics["offsets"]["deepar"]["BOOKS"]["high"] == 0
    listing = direct_client(moto_url, "s3").list_objects_v2(
        Bucket=BUCKETS["artifacts"], Prefix=keys.plots_prefix(report.partition_key)
    )
    assert {o["Key"].rsplit("/", 1)[1] for o in listing["Contents"]} == set(keys.PLOT_FILES)


def test_failed_training_job_fails_the_asset_with_its_reason(aws_stack, proxy, small_data_dir):
    reason = "ClientError: Unable to read data channel 'train'. Requested content-type is 'json'."
    proxy.add(
        Fault(
            operation("SageMaker.DescribeTrainingJob"),
            times=1000,
            rewrite=lambda body: {**body, "TrainingJobStatus": "Failed", "FailureReason": reason},
        )
    )
    settings, resources = aws_resources(aws_stack, small_data_dir)
    report = run_pipeline(settings, config=run_config(**FAST), resources=resources)
    assert not report.success
    message = "\n".join(report.failures)
    assert "ended Failed" in message and reason in message
    assert "deepar_model" not in report.materialized and "cleaned_series" in report.materialized
