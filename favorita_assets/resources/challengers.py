"""Where the challengers' backtest runs: in this process (the embedded default) or on Spark in the Glue job (AWS
mode, ``aws/glue.py``). Both run :func:`favorita_assets.core.challengers.forecast_group` on the same partitions, so
they give the same forecasts; what comes back is a :class:`~favorita_assets.core.challengers.ChallengerRuns`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pandas as pd
from dagster import AssetExecutionContext, ConfigurableResource

from favorita_assets.core.candidates import CANDIDATES, DEEPAR, Problem
from favorita_assets.core.challengers import ChallengerRuns, run_challengers
from favorita_assets.resources.storage import Storage


@dataclass(frozen=True)
class ChallengerJob:
    """The challengers to run for one cut-off: its partition key, the channels' manifest (cut-off, horizon, windows,
    series order), the candidates, their seed and how the global models split the series."""

    partition: str
    manifest: dict
    candidates: tuple[str, ...]
    seed: int
    global_models_by: str = "chain"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.candidates) - set(CANDIDATES))
        if unknown:
            raise ValueError(
                f"unknown candidates {unknown}: choose from {', '.join(c for c in CANDIDATES if c != DEEPAR)}"
            )

    @property
    def families(self):
        return pd.DataFrame(self.manifest["series"])["family"].astype(str).to_numpy()


class ChallengerRunner(ConfigurableResource, ABC):
    """Runs the challengers of ``job`` over the backtest windows and the horizon."""

    @abstractmethod
    def run(
        self, context: AssetExecutionContext, storage: Storage, job: ChallengerJob, problems: list[Problem]
    ) -> ChallengerRuns:
        """``problems``: the chain's problems as this process built them (the windows, then the horizon)."""


class InProcessChallengers(ChallengerRunner):
    """Runs the challengers in this process, on the problems it is given."""

    def run(self, context, storage, job, problems):
        return run_challengers(problems, job.families, job.candidates, job.seed, job.global_models_by)
