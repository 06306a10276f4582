"""What the asset graph makes on small generated data, recorded so that a refactor can be shown to change nothing.

    python benchmarks/behaviour_snapshot.py record OUT.json [HORIZON] [--no-inventory]
    python benchmarks/behaviour_snapshot.py compare A.json B.json [A2.json]

``record`` generates the tests' small data set (3 stores x 4 families, seed 7), runs the whole graph in-process for a
16-day horizon (or HORIZON days; a short one leaves snapshot rows unplanned) with the tests' fast DeepAR settings and
fixed seeds, without the inventory snapshot when asked (no plan), and records: the sha256 of every stored file
(parquet files also by columns and rows), every materialization's metadata (keys, and values made JSON-safe), and
every check's result (the temporary folder's path and the attempt folders' timestamps written as placeholders).
``compare`` says which of those differ. A2, a second record of the code that made A, tells what varies from run to run
of the same code (timestamps, timings, the model archive): those files are compared by their shape only (a parquet
file's columns and rows, a JSON file's keys), those metadata entries by key only.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

_ATTEMPT = re.compile(r"attempt=\d{8}T\d{6}-[0-9a-f]{8}")


def _safe(value: object, root: str) -> object:
    try:
        text = json.dumps(value)
    except TypeError:
        text = json.dumps(repr(value))
    return json.loads(_ATTEMPT.sub("attempt=*", text.replace(root, "<root>")))


def _keys(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [k for key, v in value.items() for k in [f"{prefix}{key}", *_keys(v, f"{prefix}{key}.")]]
    return []


def record(out: Path, horizon: int = 16, inventory: bool = True) -> None:
    import pandas as pd

    from favorita_assets.core.sample_data import write_sample_data
    from favorita_assets.pipeline import run_config, run_pipeline
    from favorita_assets.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample_data(root / "data", n_stores=3, n_families=4, start="2016-06-01", end="2017-08-15", seed=7)
        if not inventory:
            (root / "data" / "inventory.csv").unlink()
        settings = Settings(deployment="local", data_dir=root / "data", storage_dir=root / "storage")
        started = time.perf_counter()
        report = run_pipeline(settings, config=run_config(prediction_length=horizon, epochs=2, num_cells=8))
        seconds = time.perf_counter() - started
        files = {}
        for path in sorted(p for p in (root / "storage").rglob("*") if p.is_file()):
            name = _ATTEMPT.sub("attempt=*", path.relative_to(root / "storage").as_posix())
            entry: dict[str, object] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                entry["columns"] = [f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()]
                entry["rows"] = len(frame)
            elif path.suffix == ".json":  # one JSON document, or JSON Lines (the DeepAR channels): its records' keys
                text = path.read_text()
                try:
                    records = [json.loads(text)]
                except ValueError:
                    records = [json.loads(line) for line in text.splitlines() if line]
                entry["columns"] = sorted({k for record in records for k in _keys(record)})
                entry["rows"] = len(records)
            files[name] = entry
    snapshot = {
        "success": report.success,
        "failures": report.failures,
        "seconds": round(seconds, 1),
        "files": files,
        "metadata": {
            asset: {k: _safe(v, str(root)) for k, v in meta.items()} for asset, meta in report.materialized.items()
        },
        "checks": sorted([c.asset, c.check, c.passed, c.severity, c.description] for c in report.checks),
    }
    out.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
    print(
        f"{out}: {len(files)} files, {len(report.materialized)} materializations, {len(report.checks)} checks, "
        f"success={report.success}, {seconds:.0f} s"
    )


def compare(a_path: Path, b_path: Path, a2_path: Path | None = None) -> int:
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    a2 = json.loads(a2_path.read_text()) if a2_path else a
    varying_files = {n for n, f in a["files"].items() if f["sha256"] != a2["files"].get(n, {}).get("sha256")}
    varying_meta = {
        (asset, k)
        for asset, meta in a["metadata"].items()
        for k, v in meta.items()
        if a2["metadata"].get(asset, {}).get(k) != v
    }
    problems: list[str] = []
    same_bytes, shape_only = 0, []
    for name in sorted(set(a["files"]) | set(b["files"])):
        fa, fb = a["files"].get(name), b["files"].get(name)
        if fa is None or fb is None:
            problems.append(f"file {name} only in {'B' if fa is None else 'A'}")
        elif fa["sha256"] == fb["sha256"]:
            same_bytes += 1
        elif name in varying_files and (fa.get("columns"), fa.get("rows")) == (fb.get("columns"), fb.get("rows")):
            shape_only.append(name)
        else:
            problems.append(f"file {name}: bytes differ")
    same_values = 0
    for asset in sorted(set(a["metadata"]) | set(b["metadata"])):
        ka, kb = set(a["metadata"].get(asset, {})), set(b["metadata"].get(asset, {}))
        if ka != kb:
            problems.append(f"{asset} metadata keys: only in A {sorted(ka - kb)}, only in B {sorted(kb - ka)}")
        for key in sorted(ka & kb):
            if a["metadata"][asset][key] == b["metadata"][asset][key]:
                same_values += 1
            elif (asset, key) not in varying_meta:
                problems.append(f"{asset} metadata {key}: values differ")
    checks_a = {tuple(c[:2]): c[2:] for c in a["checks"]}
    checks_b = {tuple(c[:2]): c[2:] for c in b["checks"]}
    for key in sorted(set(checks_a) | set(checks_b)):
        if checks_a.get(key) != checks_b.get(key):
            problems.append(f"check {key}: {checks_a.get(key)} vs {checks_b.get(key)}")
    print(f"{same_bytes} files identical byte for byte; {len(shape_only)} vary from run to run, same shape:")
    for name in shape_only:
        print(f"  {name}")
    n_meta = sum(len(m) for m in a["metadata"].values())
    print(f"{n_meta} metadata entries: {same_values} equal, {len(varying_meta)} vary from run to run (keys compared)")
    print(f"{len(checks_a)} checks compared (passed, severity, description)")
    print("differences:" if problems else "no other difference")
    for line in problems:
        print(f"  {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "record":
        numbers = [int(a) for a in sys.argv[3:] if a.isdigit()]
        record(Path(sys.argv[2]), *numbers[:1], inventory="--no-inventory" not in sys.argv[3:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "compare":
        sys.exit(compare(*(Path(p) for p in sys.argv[2:])))
    else:
        sys.exit(__doc__)
