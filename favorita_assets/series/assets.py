"""``cleaned_series``: every (store_nbr, family) on a complete daily grid with its features, as Parquet."""

import time
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from favorita_assets import storage_keys as keys
from favorita_assets.core.cleaning import CLEANED_COLUMNS, CLEANING_INPUTS
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES
from favorita_assets.resources.cleaned_series import commit_cleaned_series, committed_version, read_parts
from favorita_assets.resources.etl import CleaningRunner
from favorita_assets.resources.storage import Storage
from favorita_assets.series import commit
from favorita_assets.series.checks import broken_rules
from favorita_assets.versions import CODE_VERSIONS

CLEANING_CODE_VERSION = CODE_VERSIONS["cleaned_series"]


def _not_committed(storage: Storage, version: str, problem: str, metadata: dict) -> Failure:
    """The failure of a cleaned version that is not committed, naming the version readers keep."""
    served = (
        storage.read_json(keys.CLEANED_SERIES_POINTER)["version"]
        if storage.exists(keys.CLEANED_SERIES_POINTER)
        else None
    )
    return Failure(
        description=f"cleaned_series: {problem}, so version {version} was not committed; readers keep "
        f"{'version ' + served if served else 'no cleaned series (none was committed before)'}\n"
        "  what to do: this is a fault of the cleaning engine, not of the data; report it with the run's log",
        metadata={"rejected_version": version, "served_version": served or "none", **metadata},
        allow_retries=False,
    )


@asset(
    group_name="series",
    kinds={"pandas", "parquet"},
    code_version=CLEANING_CODE_VERSION,
    deps=[RAW_ASSET_NAMES[t] for t in CLEANING_INPUTS],
    check_specs=[
        AssetCheckSpec(
            "sales_reconcile",
            asset="cleaned_series",
            blocking=True,
            description="Reported by the cleaning engine itself (in-process, or the Glue job through Dagster Pipes): "
            "total sales out equal total sales in, so no row was lost or counted twice.",
        )
    ],
    description="One row per (store_nbr, family, date) from each series' first sale to the last train date: "
    "missing rows and closed days as flagged zeros, oil filled onto every day, per-store holiday flags "
    f"(national/regional/local, transfers applied), promotions, calendar and store metadata. Columns: "
    f"{', '.join(CLEANED_COLUMNS)}. Cleaned in-process locally, by an AWS Glue job in AWS mode.",
)
def cleaned_series(context: AssetExecutionContext, storage: Storage, cleaning: CleaningRunner) -> MaterializeResult:
    pointers = {t: storage.read_json(f"{keys.raw_prefix(t)}/latest.json") for t in CLEANING_INPUTS}
    version = commit.cleaned_version(pointers, CLEANING_CODE_VERSION)
    started = time.perf_counter()
    committed = committed_version(storage, version)
    if committed is not None:  # unchanged inputs: nothing to clean (no Glue job run, no second engine's parts)
        context.log.info(f"the inputs are unchanged: version {version} is committed; the cleaning is not run again")
        outcome = commit.reused(committed)
    else:
        attempt = keys.cleaned_series_attempt(version, f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}")
        with data_errors_as_failures():
            outcome = cleaning.run(context, storage, {t: p["key"] for t, p in pointers.items()}, attempt)
    seconds = time.perf_counter() - started
    context.log.info(commit.cleaned_line(outcome, seconds))
    reconcile = {k: v for k, v in outcome.reconciliation.items() if k != "passed"}
    # A version that lost sales, or breaks a blocking rule, is never committed, and nothing is materialized for it:
    # the asset's latest materialization, and the checks shown with it, stay those of the version readers are served.
    lost = commit.sales_lost(outcome.reconciliation)
    if lost is not None:
        raise _not_committed(storage, version, lost, reconcile)
    if committed is None:  # the blocking rules gate the commit: the pointer moves only for a version that meets them
        broken = broken_rules(read_parts(storage, outcome.parts, outcome.engine))
        if broken:
            problem = commit.rules_broken(version, broken)
            raise _not_committed(storage, version, problem, {"parts": ", ".join(outcome.parts), **broken})
        commit_cleaned_series(storage, version, outcome.parts, outcome.engine, outcome.stats, outcome.reconciliation)
    path = storage.uri(outcome.parts[0].rsplit("/", 1)[0])
    metadata = commit.cleaned_metadata(outcome, seconds, version, path, pointers)
    metadata.update({k: MetadataValue.int(v) for k, v in outcome.stats.items() if isinstance(v, int)})
    metadata["parts"] = MetadataValue.int(len(outcome.parts))
    metadata.update(path=MetadataValue.path(path), input_sha256=MetadataValue.json(metadata["input_sha256"]))
    check = AssetCheckResult(check_name="sales_reconcile", passed=True, metadata=reconcile)
    return MaterializeResult(metadata=metadata, data_version=DataVersion(version), check_results=[check])
