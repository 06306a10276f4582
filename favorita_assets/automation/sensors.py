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
from favorita_assets.dagster_failures import step_failure_text
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
        f"- (run level) {_run_level_reason(context)}"
    ]
    partition = run.tags.get("dagster/partition", "")
    alerts.publish(
        "run_failure",
        f"Favorita run failed: {run.job_name}{' ' + partition[:7] if partition else ''}",
        f"Run {run.run_id} of {run.job_name}{' for ' + partition if partition else ''} failed.\n"
        f"Run: {alerts.run_url(run.run_id)}\nFailing step(s):\n" + "\n".join(steps),
        {"job": run.job_name, "run_id": run.run_id, "steps": ",".join(e.step_key or "" for e in failures)},
    )


def _run_level_reason(context: RunFailureSensorContext) -> str:
    """Why a run with no failed step failed: the engine's explanation when its process died (killed, out of
    memory) or run monitoring gave up on it, else the failure event's own message."""
    from dagster import DagsterEventType

    records = context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False, limit=20
    ).records
    for record in records:
        entry = record.event_log_entry
        message = (entry.dagster_event.message if entry.dagster_event else None) or entry.message or ""
        if "Run execution process" in message or "timed out" in message or "Detected run worker" in message:
            return message[:600]
    return context.failure_event.message or "failed outside any step"


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
        cursor = json.loads(context.cursor) if context.cursor else {}
        pending, alerted = cursor.get("delete", []), cursor.get("alerted", [])
        for handle in pending:
            try:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
            except ClientError as error:  # an expired handle: the message comes back, and its run key is known
                context.log.warning(f"could not delete a handled message ({error}); its redelivery starts nothing new")

        def handle_message(message: dict) -> RunRequest | None:
            try:
                event = classify(json.loads(message["Body"]))
            except (ValueError, TypeError):
                context.log.warning(f"message {message['MessageId']} is not JSON; dropped")
                return None
            context.log.info(f"message {message['MessageId']}: {event.summary}")
            if event.kind == "monthly_retrain":
                month = event.detail["partition"]
                nothing_new = no_data_for(month, settings, storage)
                if nothing_new:
                    context.log.info(nothing_new)
                    return None
                return RunRequest(
                    run_key=f"monthly-{month}",
                    tags={"favorita/trigger": "eventbridge-schedule", "favorita/month": month},
                )
            if event.kind == "raw_landed":
                manifest = storage.read_json(keys.LANDING_MANIFEST)
                digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:16]
                return RunRequest(run_key=f"landed-{digest}", tags={"favorita/trigger": "raw-data-landed"})
            if event.kind == "training_failed" and message["MessageId"] not in alerted:  # once, across redeliveries
                detail = event.detail
                alerts.publish(
                    "training_failed",
                    f"Favorita: SageMaker {event.summary}",
                    f"SageMaker training job {detail['job']} ended {detail['status']}: "
                    f"{detail['reason'] or 'no reason given'}.\nThe run that started it fails too; see "
                    f"{alerts.dagster_url}/runs",
                    detail,
                )
                alerted.append(message["MessageId"])
            return None

        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        requests, handles = [], []
        for message in messages:
            # Each message on its own: one that cannot be handled is left on the queue (it comes back, and after
            # the queue's maxReceiveCount goes to the dead-letter queue, whose alarm says so); the others go on.
            try:
                request = handle_message(message)
            except Exception as error:  # noqa: BLE001 - logged with the message; never the whole tick
                context.log.error(
                    f"message {message['MessageId']} could not be handled and stays on the queue "
                    f"({type(error).__name__}: {error})"
                )
                continue
            handles.append(message["ReceiptHandle"])
            if request is not None:
                requests.append(request)
        return SensorResult(run_requests=requests, cursor=json.dumps({"delete": handles, "alerted": alerted[-200:]}))

    return eventbridge_events
