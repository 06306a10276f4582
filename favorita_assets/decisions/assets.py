"""Decisions: the inventory snapshot, the adjusted forecasts, the replenishment plan, the planner's report and the
forecast value added."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from favorita_assets import storage_keys as keys
from favorita_assets.checks import check_result
from favorita_assets.core import drivers, plotting, replenishment, report
from favorita_assets.core import inventory as inv
from favorita_assets.core import value_added as fva
from favorita_assets.core.candidates import labels_of
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.decisions import overrides, planning, snapshots, value_added
from favorita_assets.decisions.whatif import read_what_ifs
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, read_landed
from favorita_assets.ingest.resources import RawDataSource
from favorita_assets.modeling.assets import forecast_evaluation
from favorita_assets.partitions import CUTOFF_PARTITIONS
from favorita_assets.publishing.assets import embedded_png, forecast_drivers, forecasts
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.cleaned_series import read_cleaned_series
from favorita_assets.resources.storage import Storage
from favorita_assets.versions import CODE_VERSIONS, content_version

INVENTORY_POINTER = snapshots.POINTER


@asset(
    group_name="ingest",
    kinds={"csv", "parquet"},
    code_version=CODE_VERSIONS["inventory_snapshot"],
    deps=[RAW_ASSET_NAMES["stores"], RAW_ASSET_NAMES["train"]],
    check_specs=[
        AssetCheckSpec(
            "snapshot_accepted",
            asset="inventory_snapshot",
            description="Warns when the snapshot file was refused (its message says where and what to do): the "
            "forecast goes on, and the plan uses the last accepted snapshot, saying so.",
        )
    ],
    description="The inventory snapshot (inventory.csv or inventory.parquet beside the Kaggle files, or in the "
    "landing zone): per store and family on_hand, on_order, lead_time_days, review_period_days, and optionally "
    "pack_size, target_service_level, the costs unit_cost, holding_cost_rate, stockout_cost and unit_price. "
    "Validated like the Kaggle files and kept as an immutable sha256-addressed copy under raw/inventory/, listed "
    "with the day it describes (the sales history's last day). A refused file blocks nothing: the refusal is "
    "recorded and the last accepted snapshot stays in use. Optional: when no snapshot is there, the asset records "
    "that and the replenishment plan is not made.",
)
def inventory_snapshot(
    context: AssetExecutionContext, raw_source: RawDataSource, storage: Storage
) -> MaterializeResult:
    prefix = keys.raw_prefix(keys.INVENTORY_TABLE)
    for filename in inv.INVENTORY_FILES:
        with raw_source.local_file(storage, filename) as path:
            if not path.is_file():
                continue
            source = raw_source.source_of(storage, filename)
            try:
                frame = inv.read_inventory(path)
                planning.check_stores(frame, read_landed(storage, "stores"), filename)
            except FavoritaDataError as error:
                return _refused_snapshot(context, storage, filename, source, error)
            record = storage.land_file(path, prefix, source)
            used = snapshots.record_accepted(storage, record, _sales_last_date(context), _now())
            context.log.info(f"{filename}: {len(frame):,} store x family rows, landed at {storage.uri(record['key'])}")
            return MaterializeResult(
                metadata=_snapshot_metadata(frame, filename, used, storage.uri(record["key"]), source),
                data_version=DataVersion(record["sha256"]),
                check_results=[AssetCheckResult(check_name="snapshot_accepted", passed=True)],
            )
    storage.write_json(
        f"{prefix}/latest.json", {"absent": True, "source": raw_source.source_of(storage, inv.INVENTORY_FILES[0])}
    )
    context.log.info(f"no inventory snapshot ({' or '.join(inv.INVENTORY_FILES)}): recorded as absent; no plan is made")
    return MaterializeResult(
        metadata={"present": False},
        data_version=DataVersion("absent"),
        check_results=[AssetCheckResult(check_name="snapshot_accepted", passed=True, metadata={"file": "absent"})],
    )


def _snapshot_metadata(frame: pd.DataFrame, filename: str, used: dict, uri: str, source: str) -> dict:
    return {
        "present": True,
        "file": filename,
        "taken": used["taken"] or "not recorded",
        "rows": MetadataValue.int(len(frame)),
        "stores": MetadataValue.int(int(frame["store_nbr"].nunique())),
        "families": MetadataValue.int(int(frame["family"].nunique())),
        "rows_with_costs": MetadataValue.int(int(frame["stockout_cost"].notna().sum())),
        "sha256": used["sha256"],
        "landed_at": MetadataValue.path(uri),
        "source": MetadataValue.path(source),
        "preview": MetadataValue.md(frame.head(5).to_markdown(index=False)),
    }


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def _sales_last_date(context: AssetExecutionContext) -> str | None:
    """The day a snapshot describes: the last day of the sales history landed with it (raw_sales' metadata)."""
    event = context.instance.get_latest_materialization_event(AssetKey(RAW_ASSET_NAMES["train"]))
    meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
    return str(meta["last_date"].value) if "last_date" in meta else None


def _refused_snapshot(
    context: AssetExecutionContext, storage: Storage, filename: str, source: str, error: FavoritaDataError
) -> MaterializeResult:
    """A refused snapshot: recorded with its message, the last accepted one stays in use; nothing is blocked."""
    history = snapshots.record_refused(storage, filename, source, str(error), _now())
    in_use = history["snapshots"][-1] if history["snapshots"] else None
    context.log.warning(
        f"{error}\nThe forecast goes on; the plan uses "
        + (f"the last accepted snapshot, {snapshots.describe(in_use)}" if in_use else "no snapshot (none accepted)")
    )
    return MaterializeResult(
        metadata={
            "present": True,
            "refused": str(error),
            "in_use": snapshots.describe(in_use) if in_use else "none",
            **error.as_metadata(),
        },
        data_version=DataVersion(in_use["sha256"] if in_use else "absent"),
        check_results=[
            AssetCheckResult(
                check_name="snapshot_accepted",
                passed=False,
                severity=AssetCheckSeverity.WARN,
                description=str(error),
                metadata={k: MetadataValue.text(str(v)) for k, v in error.as_metadata().items()},
            )
        ],
    )


def snapshot_for_cutoff(storage: Storage, partition: str) -> tuple[pd.DataFrame | None, dict | None, str]:
    """The snapshot that plans a cut-off (its rows and record) and a note on it (a warning when a newer one was
    refused), or no rows and the reason there is no plan."""
    history = snapshots.read_history(storage)
    refused = snapshots.refused_warning(None, history["refused"])
    pointer = storage.read_json(INVENTORY_POINTER) if storage.exists(INVENTORY_POINTER) else {"absent": True}
    if pointer.get("absent") or not history["snapshots"]:
        return None, None, f"{planning.NO_SNAPSHOT}. {refused}" if refused else planning.NO_SNAPSHOT
    cutoff = pd.Timestamp(storage.read_json(keys.training_manifest(partition))["cutoff"])
    used = snapshots.snapshot_for(cutoff, history["snapshots"])
    if used is None:
        return None, None, snapshots.no_snapshot_reason(cutoff, history["snapshots"])
    with storage.local_path(used["key"]) as path:
        frame = inv.read_inventory(path)
    return frame, {**snapshots.pin(used, cutoff), "warning": snapshots.refused_warning(used, history["refused"])}, ""


class OverrideConfig(Config):
    override_file: str | None = Field(
        default=None,
        description="An override set to land first: CSV or Parquet with store_nbr (empty: every store), family "
        "(empty: every family), start, end, exactly one of multiplier, quantity or closed, reason, planner (see "
        "ops_jobs/examples/overrides.csv); a local path, or on AWS an s3:// URI in the artifacts bucket "
        "(s3://<artifacts bucket>/scenarios/inputs/<file>.csv). Empty: the set in effect (the last landed) again.",
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="decisions",
    kinds={"parquet"},
    code_version=CODE_VERSIONS["adjusted_forecasts"],
    deps=[forecasts],
    description="The forecasts with the planners' overrides applied: the forecasts' columns, the statistical mean "
    "and band beside them, and the rule of each row (override_line, override). A multiplier, a quantity or a "
    "closure moves the whole band with the mean; the totals are summed again from the adjusted series "
    "(adjusted_forecast_totals/). An override file given in the config is validated against the forecasts, landed "
    "under overrides/ with its sha256 and an audit record (who, when, why, units changed; never overwritten); the "
    "statistical forecast is never changed. With no override set, the statistical forecast as it is.",
)
def adjusted_forecasts(context: AssetExecutionContext, config: OverrideConfig, storage: Storage) -> MaterializeResult:
    partition = context.partition_key
    summary = storage.read_json(keys.evaluation_metrics(partition))
    offsets = {level: t["offsets"] for level, t in summary["totals"].items()}
    with data_errors_as_failures():
        adjusted = overrides.adjust_cutoff(storage, partition, config.override_file, offsets)
    storage.write_parquet(keys.adjusted_forecasts(partition), adjusted.table)
    storage.write_parquet(keys.adjusted_totals(partition), adjusted.totals)
    meta = overrides.metadata(adjusted, overrides.read_audit(storage, partition))
    context.log.info(f"{partition[:7]}: {meta['forecast']}, {meta['units_changed']:+,.0f} units")
    return MaterializeResult(
        metadata={
            **meta,
            "audit_trail": MetadataValue.md(str(meta["audit_trail"])),
            "path": MetadataValue.path(storage.uri(keys.adjusted_forecasts(partition))),
            "totals_path": MetadataValue.path(storage.uri(keys.adjusted_totals(partition))),
        },
        data_version=content_version(adjusted.table.to_csv(index=False), adjusted.totals.to_csv(index=False)),
    )


def forecast_in_use(storage: Storage, partition: str) -> tuple[pd.DataFrame, str]:
    """The forecasts the decisions use, and which they are in words: the adjusted ones when an override set is in
    effect, else the statistical ones (a cut-off published before overrides existed has only those)."""
    record = overrides.in_effect(storage, partition)
    if record is not None and storage.exists(keys.adjusted_forecasts(partition)):
        return storage.read_parquet(
            keys.adjusted_forecasts(partition)
        ), f"adjusted by override set {record['sha256'][:12]}"
    return storage.read_parquet(keys.forecasts(partition)), "statistical"


class ReplenishmentConfig(Config):
    service_level: float = Field(
        default=replenishment.DEFAULT_SERVICE_LEVEL,
        gt=0.5,
        lt=1.0,
        description="Service level for rows that give neither a target_service_level nor costs.",
    )
    overstock_cover_days: float = Field(
        default=replenishment.DEFAULT_OVERSTOCK_COVER_DAYS,
        gt=0,
        description="Overstock needs more days of cover than this (and stock above the P90 of demand).",
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="decisions",
    kinds={"parquet", "csv"},
    code_version=CODE_VERSIONS["replenishment_plan"],
    deps=[adjusted_forecasts, forecast_evaluation, inventory_snapshot, RAW_ASSET_NAMES["stores"]],
    check_specs=[
        AssetCheckSpec(
            "orders_are_whole_packs",
            asset="replenishment_plan",
            description="Every order is >= 0, a whole number of packs, and reaches the order-up-to level.",
        ),
        AssetCheckSpec(
            "every_snapshot_row_planned",
            asset="replenishment_plan",
            description="One plan row per snapshot row, with a finite demand distribution.",
        ),
        AssetCheckSpec(
            "stockout_risk_share",
            asset="replenishment_plan",
            description="Warns when more than a fifth of the pairs risk a stockout before an order can arrive.",
        ),
    ],
    description="Per store x family, from the published forecast and the inventory snapshot: the demand over lead "
    "time + review period (its distribution from the published forecasts' own backtest errors on sums of that "
    "many days: no summed daily quantiles, no independence assumption), the order-up-to level for the service "
    "level (target, or the newsvendor critical ratio when costs are given), the order (>= 0, whole packs), the "
    "probability of a stockout with no order and before an order can arrive, days of cover, the stockout_risk and "
    "overstock flags, and with costs the expected units short and over and their cost. Parquet under "
    "replenishment_plan/ (an Athena table) and CSV beside the report. No snapshot: no plan (recorded).",
)
def replenishment_plan(
    context: AssetExecutionContext, config: ReplenishmentConfig, storage: Storage
) -> MaterializeResult:
    partition = context.partition_key
    key = keys.replenishment_plan(partition)
    frame, used, reason = snapshot_for_cutoff(storage, partition)
    if frame is None or used is None:
        return _no_plan(context, storage, reason, "no-snapshot", passed=True)
    if used["warning"]:
        context.log.warning(used["warning"])
    fc, source = forecast_in_use(storage, partition)
    with data_errors_as_failures():  # on the whole snapshot, so a refusal names the file's own line
        pairs = set(zip(fc["store_nbr"].astype(int), fc["family"].astype(str), strict=True))
        inv.check_series(frame, {s for s, _ in pairs}, pairs, used["file"])
    frame, left_out, horizon = planning.split_by_horizon(frame, fc)
    if len(left_out):  # a short horizon (tomorrow, next week) cannot say what to order for a longer interval
        context.log.warning(planning.left_out_warning(left_out, horizon))
    if frame.empty:
        return _no_plan(context, storage, planning.short_horizon_reason(horizon), f"short-horizon-{horizon}", False)
    backtest = storage.read_parquet(keys.evaluation_backtest(partition), columns=planning.BACKTEST_COLUMNS)
    levels = {"service_level": config.service_level, "overstock_cover_days": config.overstock_cover_days}
    with data_errors_as_failures():
        plan = replenishment.plan(
            fc, backtest, frame, file=used["file"], stores=read_landed(storage, "stores"), forecast=source, **levels
        )
    _write_plan(storage, partition, plan, used)
    counts = planning.plan_counts(plan, left_out)
    return MaterializeResult(
        metadata={
            "planned": True,
            "snapshot": snapshots.describe(used),
            **({"warning": used["warning"]} if used["warning"] else {}),
            "forecast": source,
            **{k: MetadataValue.int(v) if isinstance(v, int) else v for k, v in counts.items()},
            "worst": MetadataValue.md(planning.worst_table(plan)),
            "path": MetadataValue.path(storage.uri(key)),
            "csv": MetadataValue.path(storage.uri(keys.replenishment_csv(partition))),
        },
        data_version=content_version(plan.to_csv(index=False)),
        check_results=[check_result(c) for c in planning.plan_checks(plan, frame, left_out, horizon)],
    )


def _write_plan(storage: Storage, partition: str, plan: pd.DataFrame, used: dict) -> None:
    """The plan as Parquet and CSV, and the snapshot it is pinned to; an earlier no-plan note goes."""
    storage.write_parquet(keys.replenishment_plan(partition), plan)
    if storage.exists(f"{keys.reports_prefix(partition)}/no_plan.json"):
        storage.delete(f"{keys.reports_prefix(partition)}/no_plan.json")
    storage.write_bytes(keys.replenishment_csv(partition), plan.to_csv(index=False).encode())
    storage.write_json(f"{keys.reports_prefix(partition)}/snapshot.json", used)


def _no_plan(
    context: AssetExecutionContext, storage: Storage, reason: str, version: str, passed: bool
) -> MaterializeResult:
    """No plan for this cut-off, saying why; an earlier run's plan for it is removed (it no longer holds)."""
    partition = context.partition_key
    pinned = f"{keys.reports_prefix(partition)}/snapshot.json"
    for stale in (keys.replenishment_plan(partition), keys.replenishment_csv(partition), pinned):
        if storage.exists(stale):
            storage.delete(stale)
    context.log.info(reason)
    checks = [check_result(c) for c in planning.no_plan_checks(reason, passed)]
    storage.write_json(f"{keys.reports_prefix(partition)}/no_plan.json", {"reason": reason})
    return MaterializeResult(
        metadata={"planned": False, "reason": reason}, data_version=DataVersion(version), check_results=checks
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="decisions",
    kinds={"parquet", "matplotlib"},
    code_version=CODE_VERSIONS["forecast_value_added"],
    deps=[adjusted_forecasts],
    check_specs=[
        AssetCheckSpec(
            value_added.CHECK,
            asset="forecast_value_added",
            description="Warns when a family's cumulative bias, or its WAPE on the newest scored month, leaves the "
            "range its own backtest showed; the alerts resource says which family, by how much, since when (once).",
        )
    ],
    description="The track record: every earlier cut-off whose horizon's sales have arrived is scored, per family "
    "and overall, for the naive baseline (last week repeated), the statistical forecast and the adjusted one "
    "(RMSLE, WAPE, bias as the signed error share, P10-P90 coverage), under forecast_value_added/ (an Athena "
    "table, one folder per scored month); the months plotted, the last ones as a table.",
)
def forecast_value_added(context: AssetExecutionContext, storage: Storage, alerts: Alerts) -> MaterializeResult:
    partition = context.partition_key
    scored, waiting = value_added.score_past_cutoffs(storage, partition)
    record = value_added.read_track_record(storage, partition)
    table = fva.last_months_table(record, months=len(record))
    current = fva.out_of_range(record) if len(record) else []
    for alert in value_added.alerts_to_send(storage, current):
        alerts.publish(
            "forecast_drift",
            f"Favorita: {alert['kind']} alert for {alert['family']} since {alert['since']}",
            f"{fva.alert_text(alert)}\nRun: {alerts.run_url(context.run.run_id)}",
            {k: alert[k] for k in ("kind", "family", "since", "month")},
        )
    metadata: dict = {"scored_now": ", ".join(scored) or "none", "waiting_for_sales": ", ".join(waiting) or "none"}
    if len(table):
        png = plotting.track_record(table, "Track record: each past cut-off against the sales that followed")
        storage.write_bytes(keys.track_record_plot(partition), png)
        metadata["track_record"] = MetadataValue.md(embedded_png(png, "Track record"))
    metadata["last_months"] = MetadataValue.md(fva.markdown(table.tail(6)))
    metadata["months"] = MetadataValue.int(len(table))
    return MaterializeResult(
        metadata=metadata,
        data_version=content_version(record.to_csv(index=False)),
        check_results=[check_result(value_added.check(current, len(table)))],
    )


def build_report(storage: Storage, partition: str) -> tuple[bytes, dict]:
    """The planner's report of a cut-off, from what storage holds: the HTML and a few facts about it."""
    manifest = storage.read_json(keys.training_manifest(partition))
    evaluation = storage.read_json(keys.evaluation_metrics(partition))
    cutoff = pd.Timestamp(manifest["cutoff"])
    record = overrides.in_effect(storage, partition)
    adjusted = record is not None and storage.exists(keys.adjusted_totals(partition))
    totals = storage.read_parquet(keys.adjusted_totals(partition) if adjusted else keys.forecast_totals(partition))
    audit = overrides.read_audit(storage, partition)
    forecast_note = overrides.report_note(record if adjusted else None, audit)
    track = fva.last_months_table(value_added.read_track_record(storage, partition))
    cleaned = read_cleaned_series(
        storage, columns=["date", "store_nbr", "family", "sales"], since=cutoff - pd.Timedelta(days=56)
    )
    history = cleaned[(cleaned["date"] > cutoff - pd.Timedelta(days=56)) & (cleaned["date"] <= cutoff)]
    plan_key = keys.replenishment_plan(partition)
    plan = storage.read_parquet(plan_key) if storage.exists(plan_key) else None
    no_plan = f"{keys.reports_prefix(partition)}/no_plan.json"
    pinned = f"{keys.reports_prefix(partition)}/snapshot.json"
    warning = None
    if plan is not None:
        used = storage.read_json(pinned) if storage.exists(pinned) else None
        warning = used.get("warning") if used else None
        note = (
            f"From the inventory snapshot {snapshots.describe(used) if used else storage.uri(INVENTORY_POINTER)}; "
            f"the plan as CSV: {storage.uri(keys.replenishment_csv(partition))}."
        )
    elif storage.exists(no_plan) and storage.exists(snapshots.HISTORY):
        note = f"No plan: {storage.read_json(no_plan)['reason'].rstrip('.')}."
        warning = snapshots.refused_warning(None, snapshots.read_history(storage)["refused"])
    else:
        note = "No inventory snapshot was landed, so there is no plan: land inventory.csv beside the Kaggle files."
    what_ifs = read_what_ifs(storage, partition)
    drivers_key = keys.forecast_drivers(partition)
    why = drivers.horizon_summary(storage.read_parquet(drivers_key)) if storage.exists(drivers_key) else None
    page = report.render(
        cutoff=f"{cutoff:%Y-%m-%d}",
        horizon=(manifest["horizon"][0], manifest["horizon"][-1]),
        totals=totals,
        history=history,
        evaluation=evaluation,
        labels=labels_of(evaluation),
        plan=plan,
        plan_note=note,
        plan_warning=warning,
        what_ifs=what_ifs,
        forecast_note=forecast_note,
        overrides_table=overrides.audit_rows(audit),
        track_record=track,
        drivers=why,
    ).encode()
    facts = {
        "plan_rows": 0 if plan is None else len(plan),
        "what_ifs": [w["name"] for w in what_ifs],
        "forecast": "adjusted" if adjusted else "statistical",
        "stockout_risk": 0 if plan is None else int(plan["stockout_risk"].sum()),
        "overstock": 0 if plan is None else int(plan["overstock"].sum()),
        "units_to_order": 0.0 if plan is None else float(plan["order_quantity"].sum()),
    }
    return page, facts


def write_report(storage: Storage, partition: str) -> tuple[str, dict, bytes]:
    page, facts = build_report(storage, partition)
    storage.write_bytes(keys.planner_report(partition), page)
    return storage.uri(keys.planner_report(partition)), facts, page


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="decisions",
    kinds={"html", "plotly"},
    code_version=CODE_VERSIONS["planner_report"],
    deps=[adjusted_forecasts, forecast_evaluation, replenishment_plan, forecast_value_added, forecast_drivers],
    description="The planner's report: one self-contained HTML file (works offline; plotly.js inside) with the "
    "all-stores, per-store and per-family forecasts and their P10-P90 bands (adjusted when an override set is in "
    "effect, and saying so), the backtest accuracy by family, the replenishment plan (sortable, worst risks first), "
    "the overrides landed, why each forecast is what it is (its drivers, per store), the track record of the last "
    "months and the promotion what-ifs of the cut-off. Kept under "
    "reports/ beside the plan's CSV. Sends the plan's summary alert (log locally, SNS in aws mode) with its link.",
)
def planner_report(context: AssetExecutionContext, storage: Storage, alerts: Alerts) -> MaterializeResult:
    partition = context.partition_key
    uri, facts, page = write_report(storage, partition)
    sent = None
    if facts["plan_rows"]:
        plan = storage.read_parquet(keys.replenishment_plan(partition))
        text = replenishment.summary_text(plan, partition[:7])
        context.log.info(text)
        if facts["stockout_risk"] or facts["overstock"]:
            sent = alerts.publish(
                "replenishment",
                f"Favorita {partition[:7]}: {facts['stockout_risk']} stockout risks, {facts['overstock']} overstocked",
                f"{text}\n\nReport: {uri}\nPlan (CSV): {storage.uri(keys.replenishment_csv(partition))}\n"
                f"Run: {alerts.run_url(context.run_id)}",
                {"month": partition[:7], "stockout_risk": facts["stockout_risk"], "overstock": facts["overstock"]},
            )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(uri),
            "bytes": MetadataValue.int(len(page)),
            "plan_rows": MetadataValue.int(facts["plan_rows"]),
            "what_ifs": ", ".join(facts["what_ifs"]) or "none",
            "forecast": facts["forecast"],
            "alerted": alerts.describe() if sent else "no stockout risk or overstock: no alert",
        },
        data_version=content_version(page),
    )
