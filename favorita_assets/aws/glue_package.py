"""What the Glue job runs, built from this repository: the job script and ``favorita_core.zip`` (the pure
``favorita_assets.core`` package, for Glue's ``--extra-py-files``).

The zip is byte-for-byte reproducible (sorted entries, fixed timestamps), so Terraform re-uploads it exactly when the
cleaning code changes (its etag follows the content).
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # favorita_assets/
SCRIPT = PACKAGE_ROOT / "aws" / "glue_script.py"
ZIP_NAME = "favorita_core.zip"
SCRIPT_NAME = "clean_series_job.py"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def core_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) for the package marker and every module of favorita_assets.core."""
    files = [(PACKAGE_ROOT / "__init__.py", "favorita_assets/__init__.py")]
    files += [(p, f"favorita_assets/core/{p.name}") for p in sorted((PACKAGE_ROOT / "core").glob("*.py"))]
    return files


def build_glue_package(out_dir: str | Path) -> dict[str, Path]:
    """Write ``favorita_core.zip`` and ``clean_series_job.py`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / ZIP_NAME
    tmp = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, name in core_files():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(archive)
    script = out / SCRIPT_NAME
    shutil.copyfile(SCRIPT, script)
    return {"package": archive, "script": script}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
