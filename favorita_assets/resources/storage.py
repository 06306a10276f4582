"""Where the platform keeps its files: a local folder by default, S3 in AWS mode (same keys, same formats).

Keys follow one layout in every backend (see README "Storage layout"): ``raw/<table>/sha256=<hex>/<file>``,
``raw/<table>/latest.json``, ``processed/cleaned_series/latest.json`` and ``version=<v>/part-*.parquet``, ...
Every write is atomic: a reader sees the old object or the new one, never half of one.
"""

import hashlib
import io
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

CHUNK = 4 * 1024 * 1024


def sha256_of_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class Storage(ConfigurableResource, ABC):
    """The storage backend's interface. Keys are '/'-separated relative paths."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Atomically write ``data`` at ``key``."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The bytes at ``key``; FileNotFoundError if absent."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""

    @abstractmethod
    def put_file(self, path: str | Path, key: str) -> None:
        """Atomically copy a local file to ``key``."""

    @abstractmethod
    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A local file holding the object at ``key`` for the duration of the block (read-only use)."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """A human-readable address of ``key`` (a path or an s3:// URI)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix/``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object at ``key`` (nothing happens when there is none)."""

    # --- conveniences shared by every backend -------------------------------------------------------------------

    def write_json(self, key: str, value: Any) -> None:
        self.write_bytes(key, json.dumps(value, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_parquet(self, key: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_bytes(key, buffer.getvalue())

    def read_parquet(
        self, key: str, columns: list[str] | None = None, since: tuple[str, Any] | None = None
    ) -> pd.DataFrame:
        """The Parquet object at ``key`` (``columns`` only, when given). ``since=(column, day)`` keeps the rows on or
        after that day, filtered while reading (row groups before it are skipped), whether the column holds
        timestamps, dates or ISO strings."""
        with self.local_path(key) as path:
            return pd.read_parquet(path, columns=columns, filters=_since_filter(path, since) if since else None)

    def land_file(self, path: str | Path, prefix: str, source: str | None = None) -> dict[str, Any]:
        """Keep an immutable, content-addressed copy of ``path`` under ``prefix`` and point ``prefix/latest.json``
        at it. Landing the same content again copies nothing. Returns the pointer record."""
        path = Path(path)
        digest = sha256_of_file(path)
        key = f"{prefix}/sha256={digest}/{path.name}"
        copied = not self.exists(key)
        if copied:
            self.put_file(path, key)
        record = {"key": key, "sha256": digest, "bytes": path.stat().st_size, "source": source or str(path)}
        pointer = f"{prefix}/latest.json"
        if not self.exists(pointer) or self.read_json(pointer) != record:
            self.write_json(pointer, record)
        return {**record, "copied": copied}


def _since_filter(path: Path, since: tuple[str, Any]) -> list[tuple]:
    """A pyarrow filter ``column >= day`` with the day in the column's own type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column, day = since
    kind = pq.read_schema(path).field(column).type
    day = pd.Timestamp(day)
    if pa.types.is_timestamp(kind):
        value = day.tz_localize(kind.tz) if kind.tz else day
    elif pa.types.is_date(kind):
        value = day.date()
    else:  # ISO text, which sorts as the dates do
        value = f"{day:%Y-%m-%d}"
    return [(column, ">=", value)]


def plain_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file under this process's umask (0644 under umask 022)."""
    umask = os.umask(0o022)  # reading the umask means setting it; put straight back
    os.umask(umask)
    return 0o666 & ~umask


def atomic_temp(target: Path) -> Path:
    """An empty temporary file beside ``target``, with the mode a plain write of ``target`` would give it (mkstemp
    makes 0600: a report on a shared folder would be readable by its owner alone); os.replace it onto ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, plain_file_mode())
    finally:
        os.close(fd)
    return Path(tmp)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``target`` whole or not at all: a reader never sees half a file, an interrupted write leaves the old
    one."""
    tmp = atomic_temp(Path(target))
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode())


class LocalStorage(Storage):
    """Storage in a folder on this machine (the embedded default)."""

    root: str = Field(description="Folder that holds every stored object, e.g. ./var/storage.")

    def _path(self, key: str) -> Path:
        path = (Path(self.root) / key).resolve()
        if Path(self.root).resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} escapes the storage root {self.root}")
        return path

    def _atomic(self, key: str) -> tuple[Path, Path]:
        target = self._path(key)
        return target, atomic_temp(target)

    def write_bytes(self, key: str, data: bytes) -> None:
        target, tmp = self._atomic(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, path: str | Path, key: str) -> None:
        target, tmp = self._atomic(key)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object at {key} in {self.root}")
        yield path

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> list[str]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        root = Path(self.root).resolve()
        return sorted(
            p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".tmp")
        )
