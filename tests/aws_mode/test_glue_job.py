"""The Glue job script: its Spark engine in local mode on local files, its S3 reads and writes against the emulator,
its refusal of bad input, and the package Glue runs it with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from aws_mode.conftest import BUCKETS, direct_client
from favorita_assets.aws.glue import GlueCleaning
from favorita_assets.aws.glue_package import build_glue_package, sha256
from favorita_assets.aws.glue_script import ERROR_FILE
from favorita_assets.core.cleaning import clean_tables, normalize_cleaned
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.forecast_format import write_datasets_from_channel
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.settings import Settings, build_resources

TABLES = ("train", "stores", "oil", "holidays_events")


def test_spark_engine_matches_the_local_cleaning(small_data_dir, tmp_path):
    from favorita_assets.aws import glue_script

    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in TABLES}
    bad = tmp_path / "bad_train.csv"  # line 7 sold -3: both engines must name line 7
    lines = (small_data_dir / "train.csv").read_text().splitlines()
    cells = lines[6].split(",")
    cells[4] = "-3.0"
    bad.write_text("\n".join(lines[:6] + [",".join(cells)] + lines[7:]) + "\n")
    spark = glue_script.spark_session()
    try:
        result = glue_script.clean_with_spark(
            spark.newSession(),
            str(small_data_dir / "train.csv"),
            {t: frames[t] for t in TABLES[1:]},
            str(tmp_path / "out"),
        )
        with pytest.raises(Exception) as spark_error:
            glue_script.clean_with_spark(
                spark.newSession(), str(bad), {t: frames[t] for t in TABLES[1:]}, str(tmp_path / "bad")
            )
    finally:
        spark.stop()
    with pytest.raises(FavoritaDataError) as local_error:
        clean_tables({**frames, "train": read_kaggle_csv(bad, "train")})
    from_spark = glue_script._data_error(spark_error.value)
    assert from_spark is not None and from_spark.rows == local_error.value.rows == [7]
    parts = sorted((tmp_path / "out").glob("*.parquet"))
    got = normalize_cleaned(pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True))
    expected = clean_tables(frames)
    pd.testing.assert_frame_equal(got, normalize_cleaned(expected))
    assert result["stats"]["rows"] == len(expected) and result["stats"]["series"] == 12
    assert result["reconciliation"]["passed"]


def run_script(script, package, env_url, args: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(script), "--JOB_NAME", "favorita-dev-clean-series"]
    for name, value in args.items():
        argv += [name, value]
    env = {**os.environ, "AWS_ENDPOINT_URL": env_url, "PYTHONPATH": str(package)}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def upload_inputs(s3, data_dir) -> dict[str, str]:
    args = {}
    for table in TABLES:
        key = f"raw/{table}/sha256=test/{table}.csv"
        s3.upload_file(str(data_dir / f"{table}.csv"), BUCKETS["raw"], key)
        args[f"--{table}_uri"] = f"s3://{BUCKETS['raw']}/{key}"
    return args


def test_script_reads_and_writes_s3_as_glue_runs_it(aws_stack, moto_url, glue_package, small_data_dir):
    s3 = direct_client(moto_url, "s3")
    args = upload_inputs(s3, small_data_dir)
    output = f"s3://{BUCKETS['processed']}/processed/cleaned_series/version=test"
    run = run_script(
        glue_package["script"],
        glue_package["package"],
        moto_url,
        {**args, "--output_uri": output, "--engine": "pandas"},
    )
    assert run.returncode == 0, run.stderr
    listing = s3.list_objects_v2(Bucket=BUCKETS["processed"], Prefix="processed/cleaned_series/version=test/")
    (part,) = [o["Key"] for o in listing["Contents"]]
    body = s3.get_object(Bucket=BUCKETS["processed"], Key=part)["Body"].read()
    got = pd.read_parquet(__import__("io").BytesIO(body))
    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in TABLES}
    pd.testing.assert_frame_equal(got, clean_tables(frames))


def test_script_refuses_bad_input_with_a_message_dagster_shows(aws_stack, moto_url, glue_package, data_dir):
    train = (data_dir / "train.csv").read_text().splitlines()
    cells = train[6].split(",")
    cells[4] = "-3.0"
    train[6] = ",".join(cells)
    (data_dir / "train.csv").write_text("\n".join(train) + "\n")
    s3 = direct_client(moto_url, "s3")
    args = upload_inputs(s3, data_dir)
    prefix = "processed/cleaned_series/version=bad"
    run = run_script(
        glue_package["script"],
        glue_package["package"],
        moto_url,
        {**args, "--output_uri": f"s3://{BUCKETS['processed']}/{prefix}", "--engine": "pandas"},
    )
    assert run.returncode == 1
    record = json.loads(s3.get_object(Bucket=BUCKETS["processed"], Key=f"{prefix}/{ERROR_FILE}")["Body"].read())
    assert record["data_error"]["file"] == "train.csv" and record["data_error"]["value"] == "-3.0"
    storage = build_resources(Settings.from_env({**aws_stack, "AWS_ENDPOINT_URL": moto_url}))["storage"]
    error = GlueCleaning._refusal(storage, prefix)
    assert "negative sales" in str(error) and "line(s): 7" in str(error) and "what to do:" in str(error)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKETS["processed"], Prefix=prefix).get("Contents", [])] == [
        f"{prefix}/{ERROR_FILE}"
    ]  # nothing else was written


def test_glue_package_is_reproducible_and_free_of_dagster_and_boto3(tmp_path, glue_package):
    again = build_glue_package(tmp_path)
    assert sha256(again["package"]) == sha256(glue_package["package"])
    with zipfile.ZipFile(again["package"]) as zf:
        names = zf.namelist()
        assert "favorita_assets/core/cleaning.py" in names and "favorita_assets/__init__.py" in names
        for name in names:
            text = zf.read(name).decode()
            assert "import dagster" not in text and "from dagster" not in text and "import boto3" not in text, name


CHANNEL_TABLES = ("stores", "holidays_events", "test")


def local_channels(small_data_dir, folder, cutoff="2017-07-31", h=16, windows=2):
    """The local backend's build (and the cleaned series it starts from), to hold Glue's output to."""
    from favorita_assets.core.channels import build_channel_files

    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in (*TABLES, "test")}
    cleaned = clean_tables({t: frames[t] for t in TABLES})
    summary = build_channel_files(
        cleaned, frames["test"], frames["stores"], frames["holidays_events"], pd.Timestamp(cutoff), h, windows, folder
    )
    return cleaned, summary


def channel_args(
    cleaned_uri: str,
    output_uri: str,
    tables: dict[str, str],
    engine: str,
    cleaned_engine: str = "pandas",
    cutoff="2017-07-31",
    h=16,
    windows=2,
) -> dict[str, str]:
    return {
        "--task": "channels",
        "--engine": engine,
        "--cleaned_uri": cleaned_uri,
        "--cleaned_engine": cleaned_engine,
        "--output_uri": output_uri,
        "--cutoff": cutoff,
        "--prediction_length": str(h),
        "--backtest_windows": str(windows),
        **{f"--{t}_uri": uri for t, uri in tables.items()},
    }


def assert_same_build(summary: dict, local: dict, read_part) -> None:
    """Glue's parts, read in name order, are the local files byte for byte; the summary is the local one."""
    from pathlib import Path

    for name in ("train", "test", "inference"):
        assert (
            b"".join(read_part(uri) for uri in summary["files"][name]) == Path(local["files"][name][0]).read_bytes()
        ), name
    drop = {"files"}
    assert {k: v for k, v in summary.items() if k not in drop} == {k: v for k, v in local.items() if k not in drop}


def test_spark_channels_match_the_local_build(small_data_dir, tmp_path):
    """The channels task on Spark (local mode, several sorted parts), from the local cleaning's Parquet (nanosecond
    timestamps) and from the Spark cleaning's (dates, strings, parts in any order): the same bytes, fingerprint,
    data version, likelihood and manifest content as the local build."""
    from pathlib import Path

    from favorita_assets.aws import glue_script

    cleaned, local = local_channels(small_data_dir, tmp_path / "local")
    (tmp_path / "cleaned").mkdir()
    cleaned.to_parquet(tmp_path / "cleaned" / "part-00000.parquet", index=False)
    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in TABLES}
    tables = {t: str(small_data_dir / f"{t}.csv") for t in CHANNEL_TABLES}
    files = glue_script.Files()
    spark = glue_script.spark_session()
    try:
        spark.conf.set("spark.sql.adaptive.enabled", "false")  # keep 3 sort ranges: the parts' order is tested
        spark.conf.set("spark.sql.shuffle.partitions", "3")
        glue_script.clean_with_spark(
            spark,
            str(small_data_dir / "train.csv"),
            {t: frames[t] for t in TABLES[1:]},
            str(tmp_path / "spark_cleaned"),
        )
        for source, engine in ((tmp_path / "cleaned", "pandas"), (tmp_path / "spark_cleaned", "spark")):
            out = tmp_path / f"channels_from_{engine}"
            args = glue_script.parse_args(
                sum(map(list, channel_args(str(source), str(out), tables, "spark", engine).items()), [])
            )
            small = glue_script.read_small_tables(files, args)
            summary, staged = glue_script.channels_with_spark(spark, files, args, small)
            assert len(staged["train"]) > 1, "the sort should have written several parts"
            published = glue_script.publish_channels(files, staged, str(out))
            assert_same_build({**summary, "files": published}, local, lambda p: Path(p).read_bytes())
            assert sorted(p.name for p in (out / "train").iterdir()) == [Path(p).name for p in published["train"]]
    finally:
        spark.stop()


def test_channels_script_reads_and_writes_s3_as_glue_runs_it(
    aws_stack, moto_url, glue_package, small_data_dir, tmp_path
):
    """The channels task as Glue runs it (the pandas engine), reading the cleaned series and tables from the
    emulator's S3 and writing the ordered parts and the summary there; an earlier build's extra part is removed."""
    import io

    cleaned, local = local_channels(small_data_dir, tmp_path / "local")
    s3 = direct_client(moto_url, "s3")
    buffer = io.BytesIO()
    cleaned.to_parquet(buffer, index=False)
    version = "processed/cleaned_series/version=test"
    s3.put_object(Bucket=BUCKETS["processed"], Key=f"{version}/part-00000.parquet", Body=buffer.getvalue())
    tables = {}
    for table in CHANNEL_TABLES:
        key = f"raw/{table}/sha256=test/{table}.csv"
        s3.upload_file(str(small_data_dir / f"{table}.csv"), BUCKETS["raw"], key)
        tables[table] = f"s3://{BUCKETS['raw']}/{key}"
    prefix = "training/cutoff_month=2017-07"
    s3.put_object(Bucket=BUCKETS["artifacts"], Key=f"{prefix}/train/part-00007.json", Body=b"{}\n")  # stale
    args = channel_args(
        f"s3://{BUCKETS['processed']}/{version}", f"s3://{BUCKETS['artifacts']}/{prefix}", tables, "pandas"
    )
    # With the amazon-forecast backend the same run also writes Forecast's three CSVs from the test and inference
    # channels.
    run = run_script(glue_package["script"], glue_package["package"], moto_url, {**args, "--forecast_datasets": "true"})
    assert run.returncode == 0, run.stderr
    summary = json.loads(s3.get_object(Bucket=BUCKETS["artifacts"], Key=f"{prefix}/_glue_channels.json")["Body"].read())

    def read(uri):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    forecast = summary.pop("forecast_datasets")
    assert_same_build(summary, local, read)
    expected, counts = write_datasets_from_channel(
        local["files"]["test"], local["files"]["inference"], local["encoding"], tmp_path / "forecast", 16
    )
    for name, path in expected.items():
        assert [read(uri) for uri in forecast["files"][name]] == [path.read_bytes()], name
    assert {k: v for k, v in forecast.items() if k != "files"} == counts and counts["series"] == summary["counts"][
        "inference"
    ]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKETS["artifacts"], Prefix=prefix)["Contents"]]
    assert sorted(keys) == sorted(
        [f"{prefix}/{n}/part-00000.json" for n in ("train", "test", "inference")]
        + [f"{prefix}/forecast/{n}/part-00000.csv" for n in ("target", "related", "items")]
        + [f"{prefix}/_glue_channels.json"]
    )


def test_spark_challengers_match_the_in_process_backtest(small_data_dir, tmp_path):
    """The challengers task on Spark (local mode; the test channel split in two parts, the per-series challengers in
    chunks of 5 series, LightGBM one model per family) gives the in-process path's forecasts for the backtest
    windows and the horizon (to 1e-9: the same code on the same rows, one thread per task), hence the same scores
    and the same champion per family."""
    from favorita_assets.aws import glue_script
    from favorita_assets.core.challengers import read_rows, run_challengers, runs_from_rows
    from favorita_assets.core.deepar_format import compact_record, iter_json_lines_file
    from favorita_assets.core.evaluation import evaluate, problems_from_records

    _, local = local_channels(small_data_dir, tmp_path / "built")
    lines = (tmp_path / "built" / "test.json").read_bytes().splitlines(keepends=True)
    for i, part in enumerate((lines[:5], lines[5:])):  # as Glue writes them: ordered parts
        (tmp_path / "channels" / "test").mkdir(parents=True, exist_ok=True)
        (tmp_path / "channels" / "test" / f"part-{i:05d}.json").write_bytes(b"".join(part))
    (tmp_path / "channels" / "inference").mkdir()
    (tmp_path / "channels" / "inference" / "data.json").write_bytes(
        (tmp_path / "built" / "inference.json").read_bytes()
    )
    manifest = {"cutoff": "2017-07-31", "prediction_length": 16, "backtest_windows": 2, "series": local["series"]}
    (tmp_path / "channels" / "manifest.json").write_text(json.dumps(manifest))
    candidates = ["last_week", "mean_last_4_weekdays", "croston", "lightgbm"]
    families = pd.DataFrame(local["series"])["family"].to_numpy()
    test = [compact_record(r) for r in (json.loads(line) for line in lines)]
    inference = [compact_record(r) for r in iter_json_lines_file(tmp_path / "built" / "inference.json")]
    problems = problems_from_records(test, inference, 16, 2, "2017-07-31")
    here = run_challengers(problems, families, candidates, 0, global_models_by="family", threads=1)

    argv = ["--task", "challengers", "--output_uri", str(tmp_path / "out"), "--channels_uri"]
    argv += [str(tmp_path / "channels"), "--candidates", ",".join(candidates), "--global_models_by", "family"]
    args = glue_script.parse_args([*argv, "--series_per_task", "5"])
    spark = glue_script.spark_session()
    try:
        summary = glue_script.challengers_job(args, glue_script.Files())
    finally:
        spark.stop()
    on_spark = runs_from_rows(*read_rows(summary["parts"]), 12, summary["failed"], summary["seconds"])
    assert not here.failed and not on_spark.failed and set(on_spark.forecasts) == set(candidates)
    for name in candidates:
        assert len(on_spark.forecasts[name]) == 3  # two backtest windows and the horizon
        for got, expected in zip(on_spark.forecasts[name], here.forecasts[name], strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, err_msg=name)
    assert not np.allclose(here.forecasts["lightgbm"][0], here.forecasts["last_week"][0])

    def scored(runs):
        return evaluate(test, 16, 2, "2017-07-31", families, {n: f[:2] for n, f in runs.forecasts.items()})

    a, b = scored(here), scored(on_spark)
    assert a.champions == b.champions
    for name in candidates:
        assert a.scores[name]["overall"] == pytest.approx(b.scores[name]["overall"], rel=1e-9, nan_ok=True)


def test_job_arguments_are_checked_against_glues_rules():
    from favorita_assets.aws.glue import check_job_arguments

    check_job_arguments({"--task": "challengers", "--channels_uri": "s3://b/training", "--series_per_task": "500"})
    for bad, said in (
        ({"--conf": "spark.x=1"}, "reserved by Glue"),
        ({"--JOB_NAME": "x"}, "reserved by Glue"),
        ({"--global-models-by": "family"}, "must be --snake_case"),
        ({"--seed": 0}, "must be a string"),
    ):
        with pytest.raises(ValueError, match=said):
            check_job_arguments(bad)
