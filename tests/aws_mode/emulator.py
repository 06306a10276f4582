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
                        self._answer(status, data, {"Content-Type": out_headers.get("content-type", "application/json")})
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
            return 413, json.dumps({"message": message}).encode(), {"Content-Type": "application/json",
                                                                    "x-amzn-ErrorType": "ValidationError"}  # fmt: skip
        operation = target.removeprefix("SageMaker.")
        if operation in _UNIQUE_NAMES and target.startswith("SageMaker."):
            name = json.loads(body or b"{}").get(_UNIQUE_NAMES[operation][0])
            if (operation, name) in self.names:
                message = f"Cannot create already existing {operation.removeprefix('Create')} \"{name}\"."
                return 400, json.dumps({"__type": "ValidationException", "message": message}).encode(), {
                    "Content-Type": "application/x-amz-json-1.1"}
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
            self._s3.put_object(Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{name}.out", Body="\n".join(lines).encode())
        return response


class MotoSageMaker(Delegating):
    """moto 5.2's SageMaker plus what it lacks. UpdateEndpoint gives the endpoint its new configuration as SageMaker
    would once the update finished (recreating it in moto). StopTrainingJob and StopTransformJob are recorded, and
    the job then describes as Stopped, as SageMaker's would after stopping."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self.updates: list[tuple[str, str]] = []
        self.stopped: list[str] = []

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
        return {**job, "TrainingJobStatus": "Stopped"} if TrainingJobName in self.stopped else job

    def describe_transform_job(self, TransformJobName):
        job = self._client.describe_transform_job(TransformJobName=TransformJobName)
        return {**job, "TransformJobStatus": "Stopped"} if TransformJobName in self.stopped else job
