"""The plain parts of cleaned_series: the version of the cleaned series (a digest of its inputs and the cleaning's
code), a committed version's outcome reused, why a version is not committed, and what the materialization shows.
No Dagster here."""

from __future__ import annotations

import hashlib

from favorita_assets.core.cleaning import CLEANING_INPUTS
from favorita_assets.resources.etl import CleaningOutcome


def cleaned_version(pointers: dict[str, dict], code_version: str) -> str:
    """The same landed inputs (their sha256) and the same cleaning code give the same version."""
    joined = "|".join(pointers[t]["sha256"] for t in CLEANING_INPUTS) + code_version
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def reused(committed: dict) -> CleaningOutcome:
    """The outcome of the committed version, for unchanged inputs (nothing is cleaned again)."""
    return CleaningOutcome(
        parts=committed["parts"],
        stats=committed["stats"],
        engine=committed["engine"],
        reconciliation=committed["reconciliation"],
        metadata={"reused": True},
    )


def cleaned_line(outcome: CleaningOutcome, seconds: float) -> str:
    stats = outcome.stats
    return (
        f"cleaned {stats['series']:,} series into {stats['rows']:,} rows in {seconds:.1f}s with {outcome.engine} "
        f"({stats['missing_rows_filled']:,} missing rows and {stats['store_closed_rows']:,} closed store-days filled)"
    )


def sales_lost(reconciliation: dict) -> str | None:
    """Why a version whose total sales changed in cleaning is not committed; None when the totals agree."""
    if reconciliation["passed"]:
        return None
    return (
        f"total sales changed in cleaning ({reconciliation['input_total_sales']:,.3f} "
        f"in, {reconciliation['output_total_sales']:,.3f} out)"
    )


def rules_broken(version: str, broken: dict[str, object]) -> str:
    """Why a version that breaks a blocking rule is not committed."""
    return f"version {version} breaks " + ", ".join(f"{k} ({v})" for k, v in broken.items())


def cleaned_metadata(
    outcome: CleaningOutcome, seconds: float, version: str, path: str, pointers: dict[str, dict]
) -> dict[str, object]:
    """What the materialization shows: the cleaning's statistics, its engine and time, the version, its parts and
    folder, the inputs' sha256, and what the engine adds."""
    return {
        **outcome.stats,
        "engine": outcome.engine,
        "seconds": round(seconds, 2),
        "version": version,
        "parts": len(outcome.parts),
        "path": path,
        "input_sha256": {t: p["sha256"] for t, p in pointers.items()},
        **outcome.metadata,
    }
