"""What the EventBridge messages on the event queue mean (json in, a decision out; no I/O).

Three kinds arrive (infra/terraform/modules/scheduling): the monthly retrain from EventBridge Scheduler, "Object
Created" under landing/ in the raw bucket, and SageMaker training jobs that ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.partitions import month_before


@dataclass(frozen=True)
class Event:
    kind: str  # monthly_retrain | raw_landed | training_failed | training_completed | ignored
    detail: dict = field(default_factory=dict)
    summary: str = ""


def classify(body: dict) -> Event:
    source, kind, detail = body.get("source"), body.get("detail-type"), body.get("detail") or {}
    if source == "favorita.scheduler" and kind == "Monthly Retrain":
        month = month_before(body.get("time") or pd.Timestamp.now(tz="UTC").isoformat())
        return Event(
            "monthly_retrain", {"partition": month, "id": body.get("id", "")}, f"monthly retrain of {month[:7]}"
        )
    if source == "aws.s3" and kind == "Object Created":
        key = (detail.get("object") or {}).get("key", "")
        bucket = (detail.get("bucket") or {}).get("name", "")
        # The upload writes the manifest last: its event, not a data file's, says the upload is complete (a data
        # file's event can arrive before the manifest that lists it is rewritten).
        if key == keys.LANDING_MANIFEST:
            return Event(
                "raw_landed", {"bucket": bucket, "key": key}, f"s3://{bucket}/{key} written: an upload is complete"
            )
        return Event(
            "ignored", {"key": key}, f"s3://{bucket}/{key} landed (the refresh waits for {keys.LANDING_MANIFEST})"
        )
    if source == "aws.sagemaker" and kind == "SageMaker Training Job State Change":
        status = detail.get("TrainingJobStatus")
        name = detail.get("TrainingJobName", "")
        info = {"job": name, "status": status, "reason": detail.get("FailureReason", "")}
        if status in ("Failed", "Stopped"):
            return Event("training_failed", info, f"training job {name} {status.lower()}")
        return Event("training_completed", info, f"training job {name} {str(status).lower()}")
    return Event("ignored", {"source": source, "detail-type": kind}, f"unrecognised event {source}/{kind}")
