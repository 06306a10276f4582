"""Alerts: run failures, a model that lost its backtest, low stock. Logged on the embedded default; published to an SNS
topic in aws mode (favorita_assets/aws/sns.py). Every alert names where to look: a run link, the failing step."""

from __future__ import annotations

import logging
from abc import abstractmethod
from datetime import UTC, datetime
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

logger = logging.getLogger("favorita.alerts")


class Alerts(ConfigurableResource):
    """Where alerts go."""

    dagster_url: str = Field(default="http://127.0.0.1:3000", description="The Dagster UI, for run links.")

    def run_url(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}"

    def publish(self, kind: str, subject: str, message: str, attributes: dict[str, Any] | None = None) -> dict:
        """Send one alert; returns what was sent (and, on SNS, its message id)."""
        alert = {
            "kind": kind,
            "subject": subject[:100],  # SNS's limit on subjects
            "message": message,
            "attributes": {k: str(v) for k, v in (attributes or {}).items()},
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return {**alert, **self.send(alert)}

    @abstractmethod
    def send(self, alert: dict) -> dict:
        """Deliver ``alert``; returns extra fields to record."""

    @abstractmethod
    def describe(self) -> str:
        """Where alerts go, in words."""


class LoggedAlerts(Alerts):
    """The embedded default: alerts go to the log (logger ``favorita.alerts``, level WARNING)."""

    def send(self, alert: dict) -> dict:
        logger.warning("ALERT %s: %s\n%s", alert["kind"], alert["subject"], alert["message"])
        return {"delivered_to": "log"}

    def describe(self) -> str:
        return "the log (logger favorita.alerts)"
