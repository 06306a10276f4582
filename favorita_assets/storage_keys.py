"""The storage layout, in one place: every key the assets read or write, identical locally and in S3.

Per-cut-off folders are Hive style (``cutoff_month=YYYY-MM``) so an Athena/Glue table over a prefix sees one
partition per month.
"""

LANDING_PREFIX = (
    "landing"  # uploads of the Kaggle files (ops job upload_raw_data); read when FAVORITA_RAW_SOURCE=landing
)
LANDING_MANIFEST = f"{LANDING_PREFIX}/_manifest.json"  # checksums of the uploaded files and train.csv's last date


def landing_file(filename: str) -> str:
    return f"{LANDING_PREFIX}/{filename}"


SERVING_DEPLOYMENTS = "ops/serving/deployments.json"  # the serving endpoint's deployment stack and its log


CLEANED_SERIES_PREFIX = "processed/cleaned_series"
CLEANED_SERIES_POINTER = f"{CLEANED_SERIES_PREFIX}/latest.json"


def cleaned_series_version(version: str) -> str:
    """One version of the cleaned series: Parquet part files (one locally, one per Spark task from Glue). The
    pointer ``processed/cleaned_series/latest.json`` names the current version and its parts; moving it is the
    commit, so readers never see a half-written version."""
    return f"{CLEANED_SERIES_PREFIX}/version={version}"


def cleaned_series_attempt(version: str, attempt: str) -> str:
    """Where one attempt at a version writes its parts: a folder of its own, never one a pointer already names, so a
    retry, a second engine or a concurrent run cannot overwrite or delete committed parts."""
    return f"{cleaned_series_version(version)}/attempt={attempt}"


def month_tag(partition_key: str) -> str:
    """Folder name for a monthly partition: ``cutoff_month=2017-07``."""
    return f"cutoff_month={partition_key[:7]}"


def raw_prefix(table: str) -> str:
    """Immutable landed copies (``sha256=<hex>/<file>``) and the ``latest.json`` pointer of a raw table."""
    return f"raw/{table}"


def training_prefix(partition_key: str) -> str:
    """DeepAR channels: ``{train,test,inference}/data.json`` (Glue: ordered ``part-NNNNN.json``) and
    ``manifest.json``."""
    return f"training/{month_tag(partition_key)}"


def training_manifest(partition_key: str) -> str:
    """The channels' manifest: cut-off, horizon, category encodings, series order, data fingerprint."""
    return f"{training_prefix(partition_key)}/manifest.json"


def model_prefix(version: str) -> str:
    """A model version: ``model.tar.gz`` and ``model.json``."""
    return f"models/{version}"


def model_pointer(partition_key: str) -> str:
    """Which model version a cut-off uses."""
    return f"models/{month_tag(partition_key)}/latest.json"


def evaluation_prefix(partition_key: str) -> str:
    """The backtest: ``metrics.json`` and ``backtest.parquet``."""
    return f"evaluation/{month_tag(partition_key)}"


def evaluation_metrics(partition_key: str) -> str:
    """The backtest's scores and champion."""
    return f"{evaluation_prefix(partition_key)}/metrics.json"


def evaluation_challengers(partition_key: str) -> str:
    """The challengers' per-series forecasts when a distributed engine made them (AWS mode: the Glue job's
    ``forecasts/`` Parquet parts and its summary)."""
    return f"{evaluation_prefix(partition_key)}/challengers"


def evaluation_backtest(partition_key: str) -> str:
    """Every candidate's forecasts for the backtest windows, with the actuals and the published mix."""
    return f"{evaluation_prefix(partition_key)}/backtest.parquet"


def evaluation_horizon(partition_key: str) -> str:
    """Every challenger's point forecast for the days after the cut-off (what forecasts publishes from)."""
    return f"{evaluation_prefix(partition_key)}/horizon_candidates.parquet"


def forecasts(partition_key: str) -> str:
    return f"forecasts/{month_tag(partition_key)}/forecasts.parquet"


def forecast_drivers(partition_key: str) -> str:
    """What drives each forecast, in units per store x family and day (an Athena table)."""
    return f"forecast_drivers/{month_tag(partition_key)}/drivers.parquet"


def forecast_totals(partition_key: str) -> str:
    """The all-stores, store and family totals, beside the bottom level (its own prefix, its own Athena table)."""
    return f"forecast_totals/{month_tag(partition_key)}/totals.parquet"


def submission(partition_key: str) -> str:
    return f"submissions/{month_tag(partition_key)}/submission.csv"


def plots_prefix(partition_key: str) -> str:
    return f"plots/{month_tag(partition_key)}"


PLOT_FILES = ("forecast_total.png", "forecast_largest_series.png", "backtest.png", "backtest_windows.png")


INVENTORY_TABLE = "inventory"  # the landed snapshot: raw/inventory/sha256=<hex>/<file> and raw/inventory/latest.json


def replenishment_plan(partition_key: str) -> str:
    """The plan (Parquet; its own prefix, its own Athena table)."""
    return f"replenishment_plan/{month_tag(partition_key)}/plan.parquet"


def reports_prefix(partition_key: str) -> str:
    """What a planner opens: ``planner_report.html`` and ``replenishment_plan.csv``."""
    return f"reports/{month_tag(partition_key)}"


def planner_report(partition_key: str) -> str:
    return f"{reports_prefix(partition_key)}/planner_report.html"


def replenishment_csv(partition_key: str) -> str:
    return f"{reports_prefix(partition_key)}/replenishment_plan.csv"


def scenarios_prefix(partition_key: str) -> str:
    """Every what-if of a cut-off: ``scenario=<name>/whatif.parquet`` and ``scenario=<name>/summary.json``."""
    return f"scenarios/{month_tag(partition_key)}"


def scenario_prefix(partition_key: str, name: str) -> str:
    return f"{scenarios_prefix(partition_key)}/scenario={name}"


def overrides_prefix(partition_key: str) -> str:
    """A cut-off's override sets: each landed copy ``sha256=<hex>/<file>`` (never overwritten), ``latest.json`` (the
    set in effect) and ``audit/`` (one record per set landed: who, when, why, what it changed)."""
    return f"overrides/{month_tag(partition_key)}"


def override_audit(partition_key: str, landed_at: str, sha256: str) -> str:
    """One audit record; its name sorts by landing time, and a new landing never replaces an old record."""
    stamp = landed_at.replace(":", "").replace("-", "")
    return f"{overrides_prefix(partition_key)}/audit/{stamp}-{sha256[:12]}.json"


def adjusted_forecasts(partition_key: str) -> str:
    """The forecasts with the planners' overrides applied, the statistical values beside them (an Athena table)."""
    return f"adjusted_forecasts/{month_tag(partition_key)}/forecasts.parquet"


def adjusted_totals(partition_key: str) -> str:
    """The totals of the adjusted forecasts, summed again from the adjusted series."""
    return f"adjusted_forecast_totals/{month_tag(partition_key)}/totals.parquet"


VALUE_ADDED_PREFIX = "forecast_value_added"  # the track record: one folder per scored cut-off (an Athena table)


def value_added(partition_key: str) -> str:
    """The scores of a past cut-off once its horizon's actuals arrived: naive, statistical and adjusted forecasts,
    per family and overall."""
    return f"{VALUE_ADDED_PREFIX}/{month_tag(partition_key)}/scores.parquet"


def track_record_plot(partition_key: str) -> str:
    return f"{plots_prefix(partition_key)}/track_record.png"


DRIFT_ALERTS = "ops/alerts/forecast_drift.json"  # the bias and drift alerts already sent, so each goes out once
