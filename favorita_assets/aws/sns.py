"""Alerts published to the platform's SNS topic (Terraform output alerts_topic_arn)."""

from __future__ import annotations

from pydantic import Field

from favorita_assets.aws.clients import FavoritaAws
from favorita_assets.resources.alerts import Alerts


class SnsAlerts(Alerts):
    """Alerts to SNS (FAVORITA_DEPLOYMENT=aws with FAVORITA_ALERTS_TOPIC_ARN set): e-mail subscribers get the subject
    and the text; the kind travels as a message attribute, for filter policies."""

    topic_arn: str = Field(description="SNS topic (Terraform output alerts_topic_arn).")
    aws: FavoritaAws = Field(description="Region, endpoint, retries and timeouts of the SNS client.")

    def send(self, alert: dict) -> dict:
        response = self.aws.client("sns").publish(
            TopicArn=self.topic_arn,
            Subject=alert["subject"],
            Message=alert["message"],
            MessageAttributes={"kind": {"DataType": "String", "StringValue": alert["kind"]}},
        )
        return {"delivered_to": self.topic_arn, "message_id": response["MessageId"]}

    def describe(self) -> str:
        return f"SNS topic {self.topic_arn}"
