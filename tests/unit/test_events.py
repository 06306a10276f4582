"""What the event queue's messages mean, and that CI runs the README's test command."""

from favorita_assets.automation.events import classify
from favorita_assets.partitions import month_before


def test_each_eventbridge_message_is_understood():
    monthly = classify(
        {"source": "favorita.scheduler", "detail-type": "Monthly Retrain", "time": "2017-09-01T03:00:00Z"}
    )
    assert (monthly.kind, monthly.detail["partition"]) == ("monthly_retrain", "2017-08")
    landed = classify(
        {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": "raw"}, "object": {"key": "landing/train.csv"}},
        }
    )
    assert landed.kind == "ignored" and "waits for landing/_manifest.json" in landed.summary  # the upload goes on
    manifest = classify(
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {"key": "landing/_manifest.json"}}}
    )
    assert manifest.kind == "raw_landed"  # written last: the upload is complete
    failed = classify(
        {
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Training Job State Change",
            "detail": {"TrainingJobName": "j", "TrainingJobStatus": "Stopped"},
        }
    )
    done = classify(
        {
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Training Job State Change",
            "detail": {"TrainingJobName": "j", "TrainingJobStatus": "Completed"},
        }
    )
    assert (failed.kind, done.kind) == ("training_failed", "training_completed")
    assert classify({"source": "aws.ec2"}).kind == "ignored"
    assert month_before("2018-01-01T03:00:00+00:00") == "2017-12"
    assert month_before("2018-01-02T00:12:00+00:00") == "2017-12" == month_before("2018-01-31T23:59:00+00:00")
