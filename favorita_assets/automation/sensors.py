"""Sensors: EventBridge events from SQS start runs (aws mode), and failed runs raise alerts (both modes)."""

import hashlib
import json

from botocore.exceptions import ClientError
from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from favorita_assets import storage_keys as keys
from favorita_assets.automation.events import classify
from favorita_assets.errors import step_failure_text
from favorita_assets.partitions import no_data_for
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.storage import Storage

@run_failure_sensor(
    name="alert_on_run_failure",
    default_status=DefaultSensorStatus.RUNNING,
    description="Every failed run of this code location raises an alert (SNS in aws mode, the log locally) with the "
    "run link, the failing steps and their errors.",
)
def alert_on_run_failure(context: RunFailureSensorContext, alerts: Alerts):
    run = context.dagster_run
    failures = context.get_step_failure_events()
    steps = [f"- {e.step_key}: {step_failure_text(e)[:600]}" for e in failures] or [
        f"- (run level) {context.failure_event.message}"
    ]
    partition = run.tags.get("dagster/partition", "")
    alerts.publish(
        "run_failure",
        f"Favorita run failed: {run.job_name}{' ' + partition[:7] if partition else ''}",
        f"Run {run.run_id} of {run.job_name}{' for ' + partition if partition else ''} failed.\n"
        f"Run: {alerts.run_url(run.run_id)}\nFailing step(s):\n" + "\n".join(steps),
        {"job": run.job_name, "run_id": run.run_id, "steps": ",".join(e.step_key or "" for e in failures)},
    )


def build_event_sensor(queue_url: str, job, settings) -> SensorDefinition:
    """Read the EventBridge queue and start the right run: the monthly retrain and landed files start ``job`` (the
    data refresh; the new cleaned series then start the forecast). A message is deleted on the tick after the one that
    received it: Dagster stores a tick's run requests and cursor together, so a handle in the cursor means its run
    request is recorded. A redelivered message yields the same run key, which Dagster does not start twice."""
    from favorita_assets.aws.clients import FavoritaAws

    @sensor(
        name="eventbridge_events",
        job=job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description=f"Runs from the EventBridge queue {queue_url}: the monthly retrain, a refresh when raw files land "
        "under landing/, an alert when a SageMaker training job fails.",
    )
    def eventbridge_events(context: SensorEvaluationContext, aws: FavoritaAws, storage: Storage, alerts: Alerts):
        sqs = aws.client("sqs")
        pending = json.loads(context.cursor)["delete"] if context.cursor else []
        for handle in pending:
            try:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
            except ClientError as error:  # an expired handle: the message comes back, and its run key is known
                context.log.warning(f"could not delete a handled message ({error}); its redelivery starts nothing new")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        requests, handles = [], []
        for message in messages:
            handles.append(message["ReceiptHandle"])
            try:
                event = classify(json.loads(message["Body"]))
            except (ValueError, TypeError):
                context.log.warning(f"message {message['MessageId']} is not JSON; dropped")
                continue
            context.log.info(f"message {message['MessageId']}: {event.summary}")
            if event.kind == "monthly_retrain":
                month = event.detail["partition"]
                nothing_new = no_data_for(month, settings, storage)
                if nothing_new:
                    context.log.info(nothing_new)
                    continue
                requests.append(RunRequest(run_key=f"monthly-{month}", tags={"favorita/trigger": "eventbridge-schedule",
                                                                              "favorita/month": month}))  # fmt: skip
            elif event.kind == "raw_landed":
                if not storage.exists(keys.LANDING_MANIFEST):
                    context.log.warning(f"{event.summary}, but {keys.LANDING_MANIFEST} is missing: upload with the "
                                        "upload_raw_data job so the refresh knows the data's last date")  # fmt: skip
                    continue
                manifest = storage.read_json(keys.LANDING_MANIFEST)
                digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:16]
                requests.append(RunRequest(run_key=f"landed-{digest}", tags={"favorita/trigger": "raw-data-landed"}))
            elif event.kind == "training_failed":
                detail = event.detail
                alerts.publish("training_failed", f"Favorita: SageMaker {event.summary}",
                               f"SageMaker training job {detail['job']} ended {detail['status']}: "
                               f"{detail['reason'] or 'no reason given'}.\nThe run that started it fails too; see "
                               f"{alerts.dagster_url}/runs", detail)  # fmt: skip
        return SensorResult(run_requests=requests, cursor=json.dumps({"delete": handles}))

    return eventbridge_events
