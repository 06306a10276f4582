"""A local AWS for the tests: moto's server on 127.0.0.1, a fault-injecting HTTP proxy in front of it, and stand-ins
for the workers moto does not run (Glue job runs, SageMaker batch transforms).

moto records Glue and SageMaker jobs but executes nothing, so:
- ``EmulatedGlueClient`` forwards every call to moto and, on StartJobRun, runs the job's script (downloaded from the
  job's ScriptLocation in the emulated S3, with its --extra-py-files on PYTHONPATH) as a subprocess with the arguments
  Glue would pass; a non-zero exit makes GetJobRun answer FAILED, as Glue would;
- ``EmulatedSageMakerClient`` forwards every call to moto and, on CreateTransformJob, writes the transform's output
  file from canned predictions, as the DeepAR container would;
- ``FaultProxy`` relays HTTP to moto and can answer chosen operations with throttling errors, 5xx responses, or a
  rewritten body (a training job that Failed, which moto cannot produce). It also holds moto to two rules of AWS that
  moto does not enforce: a SageMaker resource name is refused while one of that name exists (moto overwrites it),
  and an endpoint request body over 6 MB is refused (moto takes any size);
- ``MotoSageMaker`` adds what moto 5.2's SageMaker lacks: UpdateEndpoint, StopTrainingJob, StopTransformJob.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

from favorita_assets.topology import free_port

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@dataclass
class Fault:
    """Answer requests that ``matches`` with ``status``/``body`` the first ``times`` times; or, with ``rewrite``,
    forward them and rewrite moto's JSON answer."""

    matches: Callable[[str, str, dict], bool]
    status: int = 500
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    times: int = 1
    rewrite: Callable[[dict], dict] | None = None
    seen: int = 0


# SageMaker's Create calls whose name AWS refuses while a resource of that name exists, and the Delete that frees it.
_UNIQUE_NAMES = {
    "CreateModel": ("ModelName", "DeleteModel"),
    "CreateEndpointConfig": ("EndpointConfigName", "DeleteEndpointConfig"),
    "CreateEndpoint": ("EndpointName", "DeleteEndpoint"),
    "CreateTrainingJob": ("TrainingJobName", None),
    "CreateTransformJob": ("TransformJobName", None),
}
ENDPOINT_PAYLOAD_LIMIT = 6 * 1024 * 1024  # InvokeEndpoint's documented maximum request body


def operation(target: str) -> Callable[[str, str, dict], bool]:
    """Match a JSON-protocol operation by its X-Amz-Target, e.g. 'SageMaker.DescribeTrainingJob'."""
    return lambda method, path, headers: headers.get("x-amz-target", "") == target


def s3_put(key_part: str) -> Callable[[str, str, dict], bool]:
    return lambda method, path, headers: method == "PUT" and key_part in path


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str, int]] = []  # method, path, target, status answered
        self.names: set[tuple[str, str]] = set()  # (Create operation, name) of SageMaker resources created through here
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                target = headers.get("x-amz-target", "")
                refusal = proxy.refusal(self.command, self.path, target, body)
                if refusal is not None:
                    proxy.log.append((self.command, self.path, target, refusal[0]))
                    self._answer(*refusal)
                    return
                for fault in proxy.faults:
                    if fault.seen < fault.times and fault.matches(self.command, self.path, headers):
                        fault.seen += 1
                        if fault.rewrite is None:
                            proxy.log.append((self.command, self.path, target, fault.status))
                            self._answer(fault.status, fault.body, fault.headers)
                            return
                        status, out_headers, data = proxy.forward(self.command, self.path, headers, body)
                        data = json.dumps(fault.rewrite(json.loads(data))).encode()
                        proxy.log.append((self.command, self.path, target, status))
                        self._answer(
                            status, data, {"Content-Type": out_headers.get("content-type", "application/json")}
                        )
                        return
                status, out_headers, data = proxy.forward(self.command, self.path, headers, body)
                proxy.log.append((self.command, self.path, target, status))
                proxy.remember(target, body, status)
                self._answer(status, data, out_headers)

            def _answer(self, status, data, headers):
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            # The client's Host header stays: it is part of what the request's signature covers, which moto checks
            # when it authorizes requests (tests/aws_mode/iam.py).
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def refusal(self, method: str, path: str, target: str, body: bytes) -> tuple[int, bytes, dict] | None:
        """AWS's answer to a request moto would wrongly accept, or None."""
        if method == "POST" and "/invocations" in path and len(body) > ENDPOINT_PAYLOAD_LIMIT:
            message = f"Request body of {len(body):,} bytes exceeds the limit of {ENDPOINT_PAYLOAD_LIMIT:,}"
            return (
                413,
                json.dumps({"message": message}).encode(),
                {"Content-Type": "application/json", "x-amzn-ErrorType": "ValidationError"},
            )
        operation = target.removeprefix("SageMaker.")
        if operation in _UNIQUE_NAMES and target.startswith("SageMaker."):
            name = json.loads(body or b"{}").get(_UNIQUE_NAMES[operation][0])
            if (operation, name) in self.names:
                message = f'Cannot create already existing {operation.removeprefix("Create")} "{name}".'
                return (
                    400,
                    json.dumps({"__type": "ValidationException", "message": message}).encode(),
                    {"Content-Type": "application/x-amz-json-1.1"},
                )
        return None

    def remember(self, target: str, body: bytes, status: int) -> None:
        if status >= 300 or not target.startswith("SageMaker."):
            return
        operation = target.removeprefix("SageMaker.")
        for create, (field_name, delete) in _UNIQUE_NAMES.items():
            if operation == create:
                self.names.add((create, json.loads(body or b"{}").get(field_name)))
            elif operation == delete:
                self.names.discard((create, json.loads(body or b"{}").get(field_name)))

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()
        self.log.clear()
        self.names.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Delegating:
    """Forwards every attribute to the real boto3 client."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)


class EmulatedGlueClient(Delegating):
    """The Glue API of moto, plus a local stand-in for Glue's job runner (see module docstring)."""

    def __init__(self, client, s3, env: dict[str, str]) -> None:
        super().__init__(client)
        self._s3 = s3
        self._env = env
        self.runs: dict[str, subprocess.CompletedProcess] = {}
        self.argv: dict[str, list[str]] = {}

    def _download(self, uri: str, folder: Path) -> Path:
        bucket, _, key = uri[len("s3://") :].partition("/")
        path = folder / Path(key).name
        self._s3.download_file(bucket, key, str(path))
        return path

    def start_job_run(self, **params):
        from favorita_assets.aws.glue import check_job_arguments

        # Glue's own rules on what a run is passed (dagster-pipes adds its two --dagster-pipes-* parameters)
        check_job_arguments(
            {k: v for k, v in params.get("Arguments", {}).items() if not k.startswith("--dagster-pipes")}
        )
        response = self._client.start_job_run(**params)
        run_id = response["JobRunId"]
        job = self._client.get_job(JobName=params["JobName"])["Job"]
        arguments = {**job.get("DefaultArguments", {}), **params.get("Arguments", {})}
        with tempfile.TemporaryDirectory() as folder:
            script = self._download(job["Command"]["ScriptLocation"], Path(folder))
            extra = [self._download(u, Path(folder)) for u in arguments.get("--extra-py-files", "").split(",") if u]
            argv = [sys.executable, str(script), "--JOB_NAME", params["JobName"], "--JOB_RUN_ID", run_id]
            for name, value in arguments.items():
                argv += [name, value]
            env = {**os.environ, **self._env, "PYTHONPATH": os.pathsep.join(str(p) for p in extra)}
            self.argv[run_id] = argv
            self.runs[run_id] = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        return response

    def get_job_run(self, **params):
        response = self._client.get_job_run(**params)
        run = self.runs.get(params["RunId"])
        if run is not None and run.returncode != 0:
            response["JobRun"]["JobRunState"] = "FAILED"
            response["JobRun"]["ErrorMessage"] = run.stderr[-2000:]
        return response


class EmulatedSageMakerClient(Delegating):
    """The SageMaker API of moto, plus a stand-in for the DeepAR container of a batch transform: it writes
    ``predict(instances, configuration)``'s answers to the transform's output, one JSON line per input line."""

    def __init__(self, client, s3, predict: Callable[[list[dict], dict], list[dict]]) -> None:
        super().__init__(client)
        self._s3 = s3
        self._predict = predict
        self.transform_requests: list[dict] = []

    def create_transform_job(self, **params):
        response = self._client.create_transform_job(**params)
        self.transform_requests.append(params)
        source = params["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, _, prefix = source[len("s3://") :].partition("/")
        lines = []
        for item in self._s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            body = self._s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            instances = [json.loads(line) for line in body.splitlines() if line.strip()]
            config = json.loads(params["Environment"]["DEEPAR_INFERENCE_CONFIG"])
            lines = [json.dumps(p) for p in self._predict(instances, config)]
            out_bucket, _, out_prefix = params["TransformOutput"]["S3OutputPath"][len("s3://") :].partition("/")
            self._s3.put_object(
                Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{name}.out", Body="\n".join(lines).encode()
            )
        return response


class MotoSageMaker(Delegating):
    """moto 5.2's SageMaker plus what it lacks. UpdateEndpoint gives the endpoint its new configuration as SageMaker
    would once the update finished (recreating it in moto). StopTrainingJob and StopTransformJob are recorded, and
    the job then describes as Stopped, as SageMaker's would after stopping. moto finishes every job at once: a job
    named in ``running`` describes as InProgress, as a real one would for hours."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self.updates: list[tuple[str, str]] = []
        self.stopped: list[str] = []
        self.running: set[str] = set()

    def update_endpoint(self, EndpointName, EndpointConfigName):
        self.updates.append((EndpointName, EndpointConfigName))
        self._client.delete_endpoint(EndpointName=EndpointName)
        return self._client.create_endpoint(EndpointName=EndpointName, EndpointConfigName=EndpointConfigName)

    def stop_training_job(self, TrainingJobName):
        self.stopped.append(TrainingJobName)
        return {}

    def stop_transform_job(self, TransformJobName):
        self.stopped.append(TransformJobName)
        return {}

    def describe_training_job(self, TrainingJobName):
        job = self._client.describe_training_job(TrainingJobName=TrainingJobName)
        return {**job, "TrainingJobStatus": self._status(TrainingJobName, job["TrainingJobStatus"])}

    def describe_transform_job(self, TransformJobName):
        job = self._client.describe_transform_job(TransformJobName=TransformJobName)
        return {**job, "TransformJobStatus": self._status(TransformJobName, job["TransformJobStatus"])}

    def _status(self, name: str, status: str) -> str:
        return "Stopped" if name in self.stopped else "InProgress" if name in self.running else status


class EmulatedForecastClient:
    """Amazon Forecast for a pipeline run (moto has none of it): every request is validated against botocore's
    model of the Forecast API, each resource is ACTIVE once described, and the export jobs write files in
    Forecast's format where they are told to. The "forecasts" are stand-ins, taken from the imported target CSV:
    a backtest window forecasts what was sold (p10/p50/p90 at 0.5x/1x/2x), the forecast of item i (in the item
    metadata's order) is 3 x (i + 1) a day."""

    def __init__(self, s3, region: str) -> None:
        import boto3
        from botocore.validate import ParamValidator

        self._model = boto3.client(
            "forecast", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
        ).meta.service_model
        self._validator = ParamValidator()
        self._s3 = s3
        self._arn = f"arn:aws:forecast:{region}:123456789012"
        self.requests: list[tuple[str, dict]] = []
        self.imports: dict[str, str] = {}  # dataset type -> the CSV text imported
        self.predictor: dict = {}

    def _check(self, operation: str, params: dict) -> None:
        name = "".join(part.capitalize() for part in operation.split("_"))
        report = self._validator.validate(params, self._model.operation_model(name).input_shape)
        if report.has_errors():
            raise AssertionError(f"{name}: {report.generate_report()}")
        self.requests.append((operation, params))

    def _read(self, path: str) -> str:
        bucket, _, prefix = path[len("s3://") :].partition("/")
        keys = [o["Key"] for o in self._s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        return "".join(self._s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in sorted(keys))

    def _write(self, path: str, name: str, text: str) -> None:
        bucket, _, prefix = path[len("s3://") :].partition("/")
        self._s3.put_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{name}", Body=text.encode())

    def __getattr__(self, operation: str):
        if operation.startswith("describe_"):

            def describe(**params):
                self._check(operation, params)
                return {"Status": "ACTIVE"}

            return describe
        raise AttributeError(operation)

    def _create(self, operation: str, p: dict, arn_key: str, kind: str, name: str) -> dict:
        self._check(operation, p)
        return {arn_key: f"{self._arn}:{kind}/{name}"}

    def create_dataset_group(self, **p):
        return self._create("create_dataset_group", p, "DatasetGroupArn", "dataset-group", p["DatasetGroupName"])

    def create_dataset(self, **p):  # the ARN carries the type, so an import knows which dataset it fills
        return self._create("create_dataset", p, "DatasetArn", "dataset", f"{p['DatasetName']}|{p['DatasetType']}")

    def update_dataset_group(self, **p):
        self._check("update_dataset_group", p)
        return {}

    def create_dataset_import_job(self, **p):
        self.imports[p["DatasetArn"].rsplit("|", 1)[1]] = self._read(p["DataSource"]["S3Config"]["Path"])
        return self._create(
            "create_dataset_import_job", p, "DatasetImportJobArn", "dataset-import-job", p["DatasetImportJobName"]
        )

    def create_predictor(self, **p):
        self.predictor = p
        return self._create("create_predictor", p, "PredictorArn", "predictor", p["PredictorName"])

    def create_forecast(self, **p):
        return self._create("create_forecast", p, "ForecastArn", "forecast", p["ForecastName"])

    def create_predictor_backtest_export_job(self, **p):
        import pandas as pd

        self._check("create_predictor_backtest_export_job", p)
        target = pd.read_csv(
            io.StringIO(self.imports["TARGET_TIME_SERIES"]),
            header=None,
            names=["item_id", "timestamp", "demand"],
            parse_dates=["timestamp"],
        )
        h = self.predictor["ForecastHorizon"]
        k = self.predictor["EvaluationParameters"]["NumberOfBacktestWindows"]
        last = target["timestamp"].max()
        lines = ["item_id,timestamp,target_value,backtestwindow_start_time,backtestwindow_end_time,p10,p50,p90,mean"]
        for w in range(k):
            start = last - pd.Timedelta(days=(k - w) * h - 1)
            end = start + pd.Timedelta(days=h - 1)
            window = target[(target["timestamp"] >= start) & (target["timestamp"] <= end)]
            for row in window.itertuples():
                a = 0.0 if pd.isna(row.demand) else float(row.demand)
                lines.append(
                    f"{row.item_id},{row.timestamp:%Y-%m-%d}T00:00:00Z,{'' if pd.isna(row.demand) else a},"
                    f"{start:%Y-%m-%d}T00:00:00,{end:%Y-%m-%d}T00:00:00,{0.5 * a},{a},{2 * a},{a}"
                )
        self._write(
            p["Destination"]["S3Config"]["Path"],
            f"forecasted-values/{p['PredictorBacktestExportJobName']}_part0.csv",
            "\n".join(lines) + "\n",
        )
        self._write(
            p["Destination"]["S3Config"]["Path"],
            f"accuracy-metrics-values/{p['PredictorBacktestExportJobName']}_part0.csv",
            "item_id,backtest_window,wQL[0.5]\n",
        )
        name = p["PredictorBacktestExportJobName"]
        return {"PredictorBacktestExportJobArn": f"{self._arn}:predictor-backtest-export-job/{name}"}

    def create_forecast_export_job(self, **p):
        import pandas as pd

        self._check("create_forecast_export_job", p)
        items = [line.split(",")[0] for line in self.imports["ITEM_METADATA"].splitlines() if line]
        related = pd.read_csv(
            io.StringIO(self.imports["RELATED_TIME_SERIES"]),
            header=None,
            usecols=[0, 1],
            names=["item_id", "timestamp"],
        )
        target_last = pd.read_csv(io.StringIO(self.imports["TARGET_TIME_SERIES"]), header=None, usecols=[1])[1].max()
        days = sorted(d for d in related["timestamp"].unique() if d > target_last)
        lines = ["item_id,date,p10,p50,p90,mean"]
        for i, item in enumerate(items):
            v = 3.0 * (i + 1)
            lines += [
                f"{item},{day}T00:00:00Z,{0.5 * v},{v},{2 * v},{v}" for day in days[: self.predictor["ForecastHorizon"]]
            ]
        half = 1 + len(lines) // 2  # two parts, each with its header, as Forecast writes larger exports
        self._write(
            p["Destination"]["S3Config"]["Path"],
            f"{p['ForecastExportJobName']}_part0.csv",
            "\n".join(lines[:half]) + "\n",
        )
        self._write(
            p["Destination"]["S3Config"]["Path"],
            f"{p['ForecastExportJobName']}_part1.csv",
            "\n".join([lines[0], *lines[half:]]) + "\n",
        )
        return {"ForecastExportJobArn": f"{self._arn}:forecast-export-job/{p['ForecastExportJobName']}"}
