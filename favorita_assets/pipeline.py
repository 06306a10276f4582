"""Running the whole graph in-process (the `favorita run` command and the end-to-end tests) and reporting on it."""

from dataclasses import dataclass, field

from dagster import DagsterEventType, DagsterInstance

from favorita_assets.automation import PIPELINE_JOB_NAME
from favorita_assets.definitions import build_definitions
from favorita_assets.settings import Settings


@dataclass
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str
    description: str


@dataclass
class PipelineReport:
    success: bool
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]


def run_pipeline(
    settings: Settings, instance: DagsterInstance | None = None, log_level: str = "INFO"
) -> PipelineReport:
    """Materialize every asset and run every check; never raises for a failed step, the report says what failed."""
    defs = build_definitions(settings)
    job = defs.resolve_job_def(PIPELINE_JOB_NAME)
    result = job.execute_in_process(
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    report = PipelineReport(success=result.success)
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            report.materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            report.checks.append(
                CheckOutcome(
                    asset=ev.asset_key.to_user_string(),
                    check=ev.check_name,
                    passed=ev.passed,
                    severity=ev.severity.value,
                    description=ev.description or "",
                )
            )
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                report.failures.append(f"{event.step_key}: {data.user_failure_data.description}")
            else:
                report.failures.append(f"{event.step_key}: {data.error.message.strip() if data.error else 'failed'}")
    return report
