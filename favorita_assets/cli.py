"""The `favorita` command: sample-data | run | demo | what-if | override | prod-local | aws-settings | glue-package."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Only plain constants at import time: `favorita --help` answers without loading pandas, torch or Dagster.
from favorita_assets.core.defaults import (
    DEFAULT_EPOCHS,
    DEFAULT_PREDICTION_LENGTH,
    KAGGLE_END,
    KAGGLE_FAMILIES,
    KAGGLE_START,
    KAGGLE_STORES,
    MAX_PREDICTION_LENGTH,
    MAX_STORES,
    SAMPLE_FILES,
    SMALL_DEMO,
    minimum_history_days,
)


def _sample_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stores",
        type=int,
        default=KAGGLE_STORES,
        help=f"number of stores, 1-{MAX_STORES} (default {KAGGLE_STORES}, "
        f"Favorita's chain; more make a bigger retailer: {10 * KAGGLE_STORES} is 10 times Kaggle's size)",
    )
    parser.add_argument(
        "--families",
        type=int,
        default=KAGGLE_FAMILIES,
        help=f"number of product families, 1-{KAGGLE_FAMILIES} (default {KAGGLE_FAMILIES})",
    )
    parser.add_argument("--start", default=KAGGLE_START, help=f"first train date (default {KAGGLE_START})")
    parser.add_argument("--end", default=KAGGLE_END, help=f"last train date (default {KAGGLE_END})")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="favorita", description="Favorita store-sales forecasting platform.")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample-data", help="write a realistic generated data set in Kaggle's exact schema")
    sample.add_argument(
        "--out",
        required=True,
        type=Path,
        help=f"folder to write the {len(SAMPLE_FILES)} CSV files into ({', '.join(SAMPLE_FILES)})",
    )
    _sample_data_args(sample)

    run = sub.add_parser(
        "run",
        help="materialize the whole asset graph in-process: land and clean the data, train, backtest, forecast, "
        "plan and report, on the deployment FAVORITA_DEPLOYMENT selects (local by default, or aws)",
    )
    run.add_argument("--data", type=Path, help="folder with the Kaggle files (default: $FAVORITA_DATA_DIR)")
    run.add_argument("--out", type=Path, default=Path("favorita_out"), help="folder for outputs (default favorita_out)")
    _model_args(run)

    what = sub.add_parser(
        "what-if",
        help="forecast a published cut-off again under a promotion scenario file; "
        "prints the lift against the base plan and writes it into the planner report",
    )
    what.add_argument(
        "--scenario",
        required=True,
        type=Path,
        help="scenario CSV: store_nbr (or all), family, "
        "start_date, end_date, onpromotion (see ops_jobs/examples/promotion_scenario.csv)",
    )
    what.add_argument("--month", help="the published cut-off month, YYYY-MM (default the latest)")
    what.add_argument("--name", help="the scenario's name in storage and the report (default the file's name)")
    what.add_argument(
        "--out", type=Path, default=Path("favorita_out"), help="the folder `favorita run` used (default favorita_out)"
    )

    override = sub.add_parser(
        "override",
        help="land a planner's override set for a published cut-off (validated like any input, kept with its "
        "digest in the audit trail); the adjusted forecasts, the plan and the report are made again from it, the "
        "statistical forecast stays as it is",
    )
    override.add_argument(
        "--file",
        required=True,
        type=Path,
        help="override CSV: store_nbr (empty: every store), family (empty: every family), start, end, exactly one "
        "of multiplier, quantity or closed, reason, planner (see ops_jobs/examples/overrides.csv)",
    )
    override.add_argument("--month", help="the published cut-off month, YYYY-MM (default the latest)")
    override.add_argument(
        "--out", type=Path, default=Path("favorita_out"), help="the folder `favorita run` used (default favorita_out)"
    )

    aws = sub.add_parser(
        "aws-settings",
        help="turn `terraform output -json` (stdin or --terraform-output FILE) into the aws deployment's settings, "
        "as .env lines: terraform -chdir=infra/terraform/envs/dev output -json | favorita aws-settings > .env",
    )
    aws.add_argument("--terraform-output", type=Path, help="file holding `terraform output -json` (default: stdin)")
    glue = sub.add_parser(
        "glue-package", help="build the Glue job script and favorita_core.zip (what Terraform uploads)"
    )
    glue.add_argument("--out", type=Path, default=Path("dist/glue"), help="folder to write them to (default dist/glue)")
    demo = sub.add_parser("demo", help="generate sample data into OUT/data, then run the pipeline on it")
    demo.add_argument("--out", type=Path, default=Path("favorita_out"), help="folder for data and outputs")
    demo.add_argument(
        "--small",
        action="store_true",
        help=f"a first look in minutes: {SMALL_DEMO['stores']} stores x {SMALL_DEMO['families']} families from "
        f"{SMALL_DEMO['start']}, {SMALL_DEMO['epochs']} epochs (--stores, --families, --start, --epochs given "
        "too win)",
    )
    _sample_data_args(demo)
    _model_args(demo)
    ui = sub.add_parser(
        "ui",
        help="open the Dagster UI on the runs, assets and storage of `favorita run --out OUT`, from any folder; "
        "the schedule and the new-data sensor stay stopped until you turn them on",
    )
    ui.add_argument(
        "--out", type=Path, default=Path("favorita_out"), help="the folder `favorita run` used (default favorita_out)"
    )
    ui.add_argument("--port", type=int, default=3000, help="the UI's port on 127.0.0.1 (default 3000)")
    prod = sub.add_parser(
        "prod-local",
        help="production Dagster on this machine: PostgreSQL, the code server, the "
        "daemon and the webserver as their own processes (start, stop, status)",
    )
    prod.add_argument("action", choices=("start", "stop", "status"))
    prod.add_argument(
        "--root", type=Path, default=Path("var/prod"), help="folder for the database, logs and state (default var/prod)"
    )
    prod.add_argument("--port", type=int, default=3000, help="the UI's port on 127.0.0.1 (default 3000)")
    prod.add_argument(
        "--data", type=Path, help="folder with the Kaggle files (default: generated demo data in ROOT/data)"
    )
    return parser


def _prod_local(args) -> int:
    from favorita_assets import topology

    root = args.root.resolve()
    if args.action == "stop":
        stopped = topology.stop_from_state(root)
        print(f"[favorita] stopped {', '.join(stopped)}" if stopped else f"[favorita] nothing was running under {root}")
        return 0
    if args.action == "status":
        state = topology.running(root)
        if not state:
            print(f"[favorita] not running (no {root / 'state.json'})")
            return 1
        for name, alive in state.items():
            print(f"{name:<12} {'running' if alive else 'NOT RUNNING'}  log {root / 'logs' / (name + '.log')}")
        return 0 if all(state.values()) else 1
    if topology.running(root):
        print(
            f"[favorita] already running under {root}: `favorita prod-local stop --root {args.root}` first",
            file=sys.stderr,
        )
        return 2
    data = args.data
    if data is None:
        data = root / "data"
        if not (data / "train.csv").exists():
            print(f"[favorita] generating demo data in {data}")
            from favorita_assets.core.sample_data import write_sample_data

            write_sample_data(data, 5, 6, "2016-01-01", KAGGLE_END, 0)
    elif not data.is_dir():
        print(f"[favorita] --data {data}: no such folder", file=sys.stderr)
        return 2
    env = {"FAVORITA_DATA_DIR": str(data.resolve()), "FAVORITA_STORAGE_DIR": str(root / "storage")}
    env.update(
        {
            k: v
            for k, v in os.environ.items()
            if k.startswith("FAVORITA_") and k not in ("FAVORITA_DATA_DIR", "FAVORITA_STORAGE_DIR")
        }
    )
    top = topology.Topology(root, env=env, web_port=args.port)
    print(f"[favorita] starting PostgreSQL, the code server, the daemon and the webserver under {root} ...")
    try:
        top.start()
    except topology.TopologyError as error:
        print(f"[favorita] {error}", file=sys.stderr)
        return 1
    print(
        f"[favorita] Dagster UI: {top.url}   logs: {root / 'logs'}   stop: favorita prod-local stop --root {args.root}"
    )
    return 0


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prediction-length",
        type=int,
        default=DEFAULT_PREDICTION_LENGTH,
        help=f"days to forecast, 1-{MAX_PREDICTION_LENGTH} (default {DEFAULT_PREDICTION_LENGTH}, "
        "Kaggle's horizon); 1, 7, 28 = tomorrow, next week, next month. The data needs "
        f"{minimum_history_days(DEFAULT_PREDICTION_LENGTH)} days of history before the cut-off for a "
        f"{DEFAULT_PREDICTION_LENGTH}-day forecast ({minimum_history_days(28)} for 28 days)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"DeepAR training epochs, at least 1 (default {DEFAULT_EPOCHS})",
    )
    parser.add_argument(
        "--month", default=None, help="the monthly cut-off to run, YYYY-MM (default: the month of the data's last date)"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show Dagster's log of the run (and the stack trace of any failure) instead of the progress",
    )


def _sample_data(out: Path, args: argparse.Namespace) -> None:
    from favorita_assets.core.sample_data import check_arguments, write_sample_data

    check_arguments(args.stores, args.families, args.start, args.end)  # refused before it is announced
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: give a folder to write the CSV files into")
    started = time.perf_counter()
    print(
        f"[favorita] generating sample data ({args.stores} stores x {args.families} families, "
        f"{args.start}..{args.end}, seed {args.seed}) into {out} ...",
        flush=True,
    )
    paths = write_sample_data(out, args.stores, args.families, args.start, args.end, args.seed)
    print(f"[favorita] wrote {', '.join(p.name for p in paths.values())} in {time.perf_counter() - started:.1f}s")


def _small(args: argparse.Namespace) -> None:
    """The small demo's sizes, where the command line left the defaults."""
    defaults = {"stores": KAGGLE_STORES, "families": KAGGLE_FAMILIES, "start": KAGGLE_START, "epochs": None}
    for name, default in defaults.items():
        if getattr(args, name) == default:
            setattr(args, name, SMALL_DEMO[name])


def _storage_place(settings) -> str:
    if settings.deployment == "aws":
        a = settings.aws
        return f"s3://{a['FAVORITA_RAW_BUCKET']}, s3://{a['FAVORITA_PROCESSED_BUCKET']}, s3://{a['FAVORITA_ARTIFACTS_BUCKET']}"
    return str(settings.storage_dir)


def _argument_problem(args: argparse.Namespace, settings) -> str | None:
    """What is wrong with the run's arguments, in one line, before any work is done (None: nothing)."""
    from favorita_assets.core.errors import FavoritaDataError
    from favorita_assets.partitions import check_month, data_date_range, partition_of
    from favorita_assets.settings import build_resources

    h = args.prediction_length
    if not 1 <= h <= MAX_PREDICTION_LENGTH:
        return (
            f"--prediction-length {h}: a horizon must be 1 to {MAX_PREDICTION_LENGTH} days (default "
            f"{DEFAULT_PREDICTION_LENGTH}; 1, 7, 28 = tomorrow, next week, next month)"
        )
    if args.epochs is not None and args.epochs < 1:
        return f"--epochs {args.epochs}: DeepAR needs at least 1 training epoch (default {DEFAULT_EPOCHS})"
    data_dir = Path(settings.data_dir)
    if settings.raw_source != "landing" and data_dir.is_file():
        return (
            f"the data folder {data_dir} is a file, not a folder: give --data {data_dir.parent} (the folder that "
            "holds train.csv and the other Kaggle files)"
        )
    if settings.raw_source != "landing" and not data_dir.is_dir():
        return (
            f"the data folder {settings.data_dir} does not exist: give --data DIR (a folder with Kaggle's CSV "
            "files), or make one with `favorita sample-data --out DIR`"
        )
    if settings.raw_source != "landing" and not _has_train(data_dir):
        return (
            f"the data folder {data_dir} holds no train.csv (nor train.csv.gz, nor Kaggle's zip): put Kaggle's "
            "files there, or make a generated set with `favorita sample-data --out DIR`"
        )
    span = data_date_range(settings, build_resources(settings)["storage"])
    if span is None:  # the data cannot be read yet: the run names the file's problem
        return None
    month = args.month or partition_of(span[1])
    try:
        check_month(month, span[0], span[1], h)
    except FavoritaDataError as error:
        what = f"--month {args.month}" if args.month else f"the data's last month ({month})"
        return f"{what}: {error.problem}; {error.fix}"
    return None


def _has_train(folder: Path) -> bool:
    return any((folder / n).is_file() for n in ("train.csv", "train.csv.gz")) or any(folder.glob("*.zip"))


def _what(meta: dict) -> str:
    """A few words on what a materialization holds, for the run's summary."""
    parts = [
        f"{meta['rows']:,} rows" if "rows" in meta else None,
        meta.get("horizon"),
        meta.get("model_version"),
        f"published: {meta['champion']}" if "champion" in meta and "model_version" not in meta else None,
        f"{len(meta['files'])} PNG files" if isinstance(meta.get("files"), dict) else None,
    ]
    if "pairs" in meta:
        parts = [
            f"{meta['pairs']:,} store x family pairs: {meta['stockout_risk']} stockout risks, {meta['overstock']} "
            f"overstocked, {meta['units_to_order']:,.0f} units to order"
        ]
    if meta.get("planned") is False:
        parts = [f"no plan: {meta['reason']}" if meta.get("reason") else "no inventory snapshot: no plan"]
    if "what_ifs" in meta and "plan_rows" in meta:
        parts = [f"HTML, {meta['bytes'] / 1e6:.1f} MB, {meta['plan_rows']} plan rows, what-ifs: {meta['what_ifs']}"]
    if meta.get("present") is False:
        parts = ["absent (optional)"]
    return ", ".join(p for p in parts if p)


# A newcomer's instance: no telemetry, no community dialog over the first page the UI opens, and the steps' output
# straight to the terminal (Dagster's default mirrors it through `tail` and a watcher process per step, which print
# KeyboardInterrupt tracebacks of their own on Ctrl-C).
INSTANCE_SETTINGS = (
    "telemetry:\n  enabled: false\nnux:\n  enabled: false\ncompute_logs:\n"
    "  module: dagster._core.storage.noop_compute_log_manager\n  class: NoOpComputeLogManager\n"
)
RUN_RECORD = ".favorita_run.json"  # in OUT: where `favorita ui --out OUT` finds the run's data, storage and instance


def _dagster_home(out: Path) -> tuple[object, str]:
    """The Dagster instance the run is recorded in: $DAGSTER_HOME's, else a persistent one under OUT/dagster_home
    (which `favorita ui --out OUT` opens); and a sentence saying where that is."""
    from dagster import DagsterInstance

    ui = f"to browse them: {_ui_command(out)}"
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"])
        if not home.exists():  # Dagster refuses a folder not there yet: made, with a newcomer's settings
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text(INSTANCE_SETTINGS)
        return DagsterInstance.get(), f"runs recorded in DAGSTER_HOME={os.environ['DAGSTER_HOME']}; {ui}"
    home = (out / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists() or not settings.read_text().strip():
        settings.write_text(INSTANCE_SETTINGS)
    return DagsterInstance.from_config(str(home)), f"runs recorded in {home}; {ui}"


def _ui_command(out: Path) -> str:
    import shlex

    return f"favorita ui --out {shlex.quote(str(out.resolve()))}"


def _record_run(out: Path, settings, month: str) -> None:
    """What `favorita ui --out OUT` needs to open this run's instance on its data and storage."""
    import json

    from favorita_assets.resources.storage import atomic_write_text

    home = os.environ.get("DAGSTER_HOME") or str((out / "dagster_home").resolve())
    record = {
        "dagster_home": str(Path(home).resolve()),
        "data_dir": str(Path(settings.data_dir).resolve()),
        "storage_dir": str(Path(settings.storage_dir).resolve()),
        "month": month,  # the cut-off whose outputs OUT holds: a what-if on it refreshes OUT/planner_report.html
    }
    atomic_write_text(out / RUN_RECORD, json.dumps(record, indent=2) + "\n")


def _ui(args: argparse.Namespace) -> int:
    """`dagster dev` on the code location, with the instance, data and storage that `favorita run --out OUT` used."""
    import json
    import signal
    import subprocess

    out = args.out.resolve()
    record_file = out / RUN_RECORD
    if not record_file.is_file():
        print(
            f"[favorita] {out} holds no run of `favorita run` (no {RUN_RECORD}): run `favorita demo --small --out "
            f"{args.out}` or `favorita run --data DIR --out {args.out}` first",
            file=sys.stderr,
        )
        return 2
    record = json.loads(record_file.read_text())
    env = {
        **os.environ,
        "DAGSTER_HOME": record["dagster_home"],
        "FAVORITA_DATA_DIR": record["data_dir"],
        "FAVORITA_STORAGE_DIR": record["storage_dir"],
    }
    state = env.get("FAVORITA_AUTOMATION", "stopped")
    print(
        f"[favorita] Dagster UI for {out} on http://127.0.0.1:{args.port} (starting takes a few seconds); the "
        f"schedule and the new-data sensor are {state}"
        + (" (turn them on in the UI's Automation page): nothing runs unless you ask" if state == "stopped" else "")
        + ". Ctrl-C stops the UI.",
        flush=True,
    )
    command = [sys.executable, "-m", "dagster", "dev", "-m", "favorita_assets.definitions"]
    command += ["-h", "127.0.0.1", "-p", str(args.port), "--log-level", "warning"]
    # dagster dev's own notice that `dg dev` supersedes it is for Dagster's project layout, not for this command
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), "ignore::Warning:click.core"]))
    process = subprocess.Popen(command, env=env, cwd=out)
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached dagster dev too (its terminal's group); SIGTERM only this process
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # dagster dev stops its webserver and daemon on SIGINT
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print("[favorita] the UI stopped; the runs and outputs are unchanged", file=sys.stderr)
        return 128 + (_STOPPED_BY[-1] if _STOPPED_BY else signal.SIGINT)


def _what_if(args: argparse.Namespace) -> int:
    """The promotion_what_if job, in-process, on the storage and instance `favorita run --out OUT` used."""
    from favorita_assets.dagster_failures import step_failure_text
    from favorita_assets.definitions import build_definitions
    from favorita_assets.settings import Settings, SettingsError

    env = dict(os.environ)
    env.setdefault("FAVORITA_STORAGE_DIR", str(args.out / "storage"))
    env.setdefault("FAVORITA_DATA_DIR", str(args.out / "data"))
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    problem = _what_if_problem(args, settings)
    if problem:
        print(f"[favorita] {problem}", file=sys.stderr)
        return 2
    instance, where_runs = _dagster_home(args.out)
    config = {"scenario_file": str(args.scenario.resolve()), "month": args.month, "name": args.name}
    with instance:
        job = build_definitions(settings).resolve_job_def("promotion_what_if")
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={
                "ops": {"forecast_scenario": {"config": config}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
        )
    if not result.success:
        failures = [step_failure_text(e) for e in result.all_events if e.is_step_failure]
        print(f"[favorita] the what-if failed: {failures[0] if failures else 'see the run'}", file=sys.stderr)
        return 1
    out = result.output_for_node("forecast_scenario")
    print(
        f"[favorita] what-if {out['name']} on the {out['partition']} cut-off "
        f"({out['horizon'][0]} .. {out['horizon'][1]}):"
    )
    print(
        f"    {'line':<5} {'family':<24} {'stores':>6} {'days':<24} {'base units':>11} {'lift':>9} "
        f"{'lift P10..P90':>19} {'lift %':>7}"
    )
    for r in out["rows"]:
        days = f"{r['first_date']} .. {r['last_date']}"
        head = (
            f"    {r['scenario_row']:<5} {r['family'][:24]:<24} {r['stores']:>6} {days:<24} {r['base_units']:>11,.0f}"
        )
        if r["lift_units"] is None:
            print(f"{head}   {r['note']}")
        else:
            pct = "" if r["lift_pct"] is None else f"{r['lift_pct']:+.1%}"
            print(f"{head} {r['lift_units']:>9,.0f} {r['lift_p10']:>9,.0f}..{r['lift_p90']:<9,.0f} {pct:>7}")
    report = out["report"]
    refreshed = _refresh_out_report(args.out, settings, out["partition"])
    if refreshed:
        report = f"{refreshed} (and {out['report']})"
    print(f"  table  {out['table']}\n  report {report}\n  {where_runs}")
    return 0


def _override(args: argparse.Namespace) -> int:
    """The apply_overrides job, in-process, on the storage and instance `favorita run --out OUT` used."""
    from favorita_assets.dagster_failures import step_failure_text
    from favorita_assets.definitions import build_definitions
    from favorita_assets.settings import Settings, SettingsError, build_resources
    from ops_jobs.overrides import APPLY_OVERRIDES_JOB
    from ops_jobs.what_if import latest_forecast_month

    env = dict(os.environ)
    env.setdefault("FAVORITA_STORAGE_DIR", str(args.out / "storage"))
    env.setdefault("FAVORITA_DATA_DIR", str(args.out / "data"))
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    problem = _what_if_problem(args, settings, "--file")
    if problem:
        print(f"[favorita] {problem}", file=sys.stderr)
        return 2
    month = args.month or latest_forecast_month(build_resources(settings)["storage"])
    instance, where_runs = _dagster_home(args.out)
    with instance:
        job = build_definitions(settings).resolve_job_def(APPLY_OVERRIDES_JOB)
        if month not in instance.get_dynamic_partitions("cutoff_month"):  # a run recorded elsewhere: the same month
            instance.add_dynamic_partitions("cutoff_month", [month])
        result = job.execute_in_process(
            instance=instance,
            partition_key=month,
            raise_on_error=False,
            run_config={
                "ops": {"adjusted_forecasts": {"config": {"override_file": str(args.file.resolve())}}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
        )
    if not result.success:
        failures = [step_failure_text(e) for e in result.all_events if e.is_step_failure]
        print(f"[favorita] the override failed: {failures[0] if failures else 'see the run'}", file=sys.stderr)
        return 1
    meta = {
        m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node("adjusted_forecasts")
    }["adjusted_forecasts"]
    landed = "landed" if meta["landed_now"] else "already in effect (nothing landed again)"
    print(
        f"[favorita] override set {str(meta['override_set'])[:12]} on the {month} cut-off: {landed}; "
        f"{meta['series_days_adjusted']:,} series-days adjusted, {meta['statistical_units']:,.0f} -> "
        f"{meta['adjusted_units']:,.0f} units ({meta['units_changed']:+,.0f}); "
        f"{meta['sets_landed']} set(s) in the audit trail"
    )
    from favorita_assets import storage_keys as keys

    report = build_resources(settings)["storage"].uri(keys.planner_report(month))
    refreshed = _refresh_out_report(args.out, settings, month)
    print(f"  adjusted {meta['path']}\n  report   {f'{refreshed} (and {report})' if refreshed else report}")
    print(f"  {where_runs}")
    return 0


def _what_if_problem(args: argparse.Namespace, settings, option: str = "--scenario") -> str | None:
    """What is wrong with the what-if's (or the override's) arguments, in one line, before any work (None:
    nothing)."""
    from favorita_assets.settings import build_resources
    from ops_jobs.what_if import published_months

    path = args.scenario if option == "--scenario" else args.file
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        layout = (
            "a scenario CSV (store_nbr or all, family, start_date, end_date, onpromotion), e.g. "
            "ops_jobs/examples/promotion_scenario.csv"
            if option == "--scenario"
            else "an override CSV (store_nbr, family, start, end, multiplier or quantity or closed, reason, planner), "
            "e.g. ops_jobs/examples/overrides.csv"
        )
        return f"{option} {path}: the file {what}; give {layout}"
    months = published_months(build_resources(settings)["storage"])
    if not months:
        return (
            f"no forecasts are published in {_storage_place(settings)} yet: run `favorita run --out {args.out}` "
            "first (or give the --out folder that run used)"
        )
    if args.month is not None and args.month not in months:
        return f"--month {args.month}: not a published cut-off month; the months that work: {', '.join(months)}"
    return None


def _refresh_out_report(out: Path, settings, partition: str) -> Path | None:
    """Copy the what-if's report over OUT/planner_report.html when OUT holds that cut-off's outputs (the file the
    run told the planner to open); the path written, or None."""
    import json

    from favorita_assets import storage_keys as keys
    from favorita_assets.resources.storage import atomic_write_bytes
    from favorita_assets.settings import build_resources

    record_file = out / RUN_RECORD
    if not record_file.is_file() or json.loads(record_file.read_text()).get("month") != partition:
        return None
    storage = build_resources(settings)["storage"]
    atomic_write_bytes(out / "planner_report.html", storage.read_bytes(keys.planner_report(partition)))
    return out / "planner_report.html"


def _interrupted(stage: str | None) -> None:
    from favorita_assets.interrupts import interrupted_line

    print(interrupted_line(stage), file=sys.stderr, flush=True)


def _run(data: Path | None, out: Path, args: argparse.Namespace) -> int:
    from dagster import DagsterExecutionInterruptedError

    from favorita_assets.interrupts import Signals
    from favorita_assets.pipeline import export_outputs, run_config, run_pipeline
    from favorita_assets.progress import Display, show_on
    from favorita_assets.settings import Settings, SettingsError

    env = dict(os.environ)
    if data is not None:
        env["FAVORITA_DATA_DIR"] = str(data)
    env.setdefault("FAVORITA_STORAGE_DIR", str(out / "storage"))
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    problem = _argument_problem(args, settings)
    if problem:
        print(f"[favorita] {problem}", file=sys.stderr)
        return 2
    print(f"[favorita] data: {settings.data_dir}  storage: {_storage_place(settings)}", flush=True)
    started = time.perf_counter()
    config = run_config(prediction_length=args.prediction_length, epochs=args.epochs)
    instance, where_runs = _dagster_home(out)
    display = None if args.verbose else Display()
    show_on(display)
    stage = None
    try:
        with instance, Signals() as signals:
            try:
                report = run_pipeline(
                    settings,
                    partition_key=args.month,
                    config=config,
                    instance=instance,
                    loggers=None if args.verbose else {"favorita_progress": {}},
                )
            except (KeyboardInterrupt, DagsterExecutionInterruptedError):
                report = None
            finally:
                signals.settle()
            stage = display.stage if display is not None else None
            if report is None or signals.received():
                if display is not None:
                    display.close()
                if report is not None and report.failures and stage is None:
                    stage = report.failures[0].split(":")[0]
                _interrupted(stage)
                return signals.exit_code()
    finally:
        show_on(None)
        if display is not None:
            display.close()
    print()
    for asset, meta in report.materialized.items():
        print(f"  materialized {asset:<22} {_what(meta)}")
    warned = [c for c in report.failed_checks if c.severity == "WARN"]
    errors = [c for c in report.failed_checks if c.severity != "WARN"]
    passed = sum(c.passed for c in report.checks)
    print(f"  checks: {passed} passed, {len(warned)} warnings, {len(errors)} failed")
    for c in warned + errors:
        print(f"    {c.severity:<5} {c.asset}.{c.check}: {c.description}")
    if not report.success:
        first = report.failures[0].split("\n")[0] if report.failures else "a step failed"
        print(f"\n[favorita] the run failed: {first}\n[favorita] earlier outputs are untouched; {where_runs}")
        print("\n[favorita] the run failed; earlier outputs are untouched.", file=sys.stderr)
        for failure in report.failures:
            print(f"\n{failure}", file=sys.stderr)
        for trace in report.tracebacks:  # an unexpected error (a bug): its trace helps whoever fixes it
            print(f"\nunexpected error in {trace}", file=sys.stderr)
        return 1
    evaluation = report.materialized.get("forecast_evaluation", {})
    if evaluation:
        from favorita_assets.core.candidates import CANDIDATES, ENSEMBLE

        print(
            f"\n  backtest ({report.partition_key} cut-off, {args.prediction_length}-day windows), mean over the "
            "windows, lower is better:"
        )
        print(f"    {'candidate':<22} {'RMSLE':>7} {'WAPE':>7} {'MASE':>7} {'mean wQL':>9} {'P10-P90':>8}")
        for method in (*CANDIDATES, ENSEMBLE, "published"):
            if f"{method}_rmsle" in evaluation:
                print(
                    f"    {method:<22} {evaluation[f'{method}_rmsle']:>7.4f} "
                    f"{evaluation.get(f'{method}_wape', float('nan')):>7.4f} "
                    f"{evaluation.get(f'{method}_mase', float('nan')):>7.3f} "
                    f"{evaluation.get(f'{method}_mean_wql', float('nan')):>9.4f} "
                    f"{evaluation.get(f'{method}_coverage', float('nan')):>8.2f}"
                )
        if evaluation.get("published_nested_rmsle") is not None:
            print(
                f"    the rule's own accuracy (each window scored with champions chosen on the other windows): "
                f"RMSLE {evaluation['published_nested_rmsle']:.4f}"
            )
        print(f"    published: {evaluation['champion']}")
    with Signals() as signals:
        try:
            written = export_outputs(settings, report, out)
            _record_run(out, settings, report.partition_key)
        except KeyboardInterrupt:  # each output is written whole or not at all
            signals.settle()
            _interrupted("copying the outputs to " + str(out))
            return signals.exit_code()
    print(f"\n[favorita] done in {time.perf_counter() - started:.1f}s. Outputs:")
    for name, path in written.items():
        print(f"  {name:<28} {path}")
    print(f"  {'storage (all assets)':<28} {_storage_place(settings)}")
    print(f"  {where_runs}")
    return 0


def _aws_settings(source: Path | None) -> int:
    import json

    from favorita_assets.settings import settings_from_terraform

    text = source.read_text() if source else sys.stdin.read()
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"[favorita] not `terraform output -json` ({error}); pipe that command's output in", file=sys.stderr)
        return 2
    for name, value in settings_from_terraform(outputs).items():
        print(f"{name}={value}")
    return 0


_STOPPED_BY: list[int] = []


def _stop(signum, frame) -> None:
    _STOPPED_BY.append(signum)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if threading_is_main():
        for s in previous:  # both stop the command with one line (a run: _run's own)
            signal.signal(s, _stop)
    try:
        return _command(args)
    except KeyboardInterrupt:
        _interrupted(f"`favorita {args.command}`")
        return 128 + (_STOPPED_BY[-1] if _STOPPED_BY else signal.SIGINT)
    finally:
        if threading_is_main():
            for s, handler in previous.items():
                signal.signal(s, handler)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command == "sample-data":
            _sample_data(args.out, args)
            return 0
        if args.command == "run":
            return _run(args.data, args.out, args)
        if args.command == "demo":
            if args.small:
                _small(args)
            _sample_data(args.out / "data", args)
            return _run(args.out / "data", args.out, args)
        if args.command == "prod-local":
            return _prod_local(args)
        if args.command == "ui":
            return _ui(args)
        if args.command == "what-if":
            return _what_if(args)
        if args.command == "override":
            return _override(args)
        if args.command == "aws-settings":
            return _aws_settings(args.terraform_output)
        if args.command == "glue-package":
            from favorita_assets.aws.glue_package import build_glue_package, sha256

            for name, path in build_glue_package(args.out).items():
                print(f"{name:<8} {path}  sha256 {sha256(path)[:16]}")
            return 0
    except ValueError as error:  # bad arguments to the generator, e.g. --stores 99
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
