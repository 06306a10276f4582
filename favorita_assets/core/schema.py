"""The Kaggle Favorita file layout, a fast validated CSV reader, and the content rules raw data must meet.

Every file is read with pyarrow's multi-threaded CSV parser and explicit column types. When parsing fails,
the offending column is re-read as text so the error can name the exact value and line.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from favorita_assets.core.errors import FavoritaDataError

# Column kinds. "category" is text stored as a pandas Categorical (cheap for 3 M rows of `family`).
INT, FLOAT, DATE, TEXT, CATEGORY, BOOL = "int", "float", "date", "text", "category", "bool"

_ARROW_TYPES = {
    INT: pa.int64(),
    FLOAT: pa.float64(),
    DATE: pa.date32(),
    TEXT: pa.string(),
    CATEGORY: pa.dictionary(pa.int32(), pa.string()),
    BOOL: pa.bool_(),
}
_KIND_WORDS = {
    INT: "a whole number",
    FLOAT: "a number",
    DATE: "a date written YYYY-MM-DD",
    BOOL: "True or False",
}


@dataclass(frozen=True)
class FileSpec:
    """One Kaggle file: its name, its columns in Kaggle's order, and the columns that must be unique together."""

    name: str
    filename: str
    columns: Mapping[str, str]
    key: tuple[str, ...] = ()
    nullable: frozenset[str] = field(default_factory=frozenset)
    required: bool = True


KAGGLE_FILES: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "train",
            "train.csv",
            {"id": INT, "date": DATE, "store_nbr": INT, "family": CATEGORY, "sales": FLOAT, "onpromotion": INT},
            key=("date", "store_nbr", "family"),
        ),
        FileSpec(
            "test",
            "test.csv",
            {"id": INT, "date": DATE, "store_nbr": INT, "family": CATEGORY, "onpromotion": INT},
            key=("date", "store_nbr", "family"),
            required=False,
        ),
        FileSpec(
            "stores",
            "stores.csv",
            {"store_nbr": INT, "city": TEXT, "state": TEXT, "type": TEXT, "cluster": INT},
            key=("store_nbr",),
        ),
        FileSpec(
            "oil", "oil.csv", {"date": DATE, "dcoilwtico": FLOAT}, key=("date",), nullable=frozenset({"dcoilwtico"})
        ),
        FileSpec(
            "holidays_events",
            "holidays_events.csv",
            {"date": DATE, "type": TEXT, "locale": TEXT, "locale_name": TEXT, "description": TEXT, "transferred": BOOL},
        ),
        FileSpec(
            "transactions",
            "transactions.csv",
            {"date": DATE, "store_nbr": INT, "transactions": INT},
            key=("date", "store_nbr"),
            required=False,
        ),
    )
}

HOLIDAY_TYPES = ("Holiday", "Transfer", "Additional", "Bridge", "Work Day", "Event")
HOLIDAY_LOCALES = ("National", "Regional", "Local")


def read_kaggle_csv(path: str | Path, name: str) -> pd.DataFrame:
    """Read one Kaggle file with its exact schema, or raise FavoritaDataError naming file, column, value and line.

    Extra columns are ignored; the returned frame has the spec's columns in Kaggle's order and a RangeIndex,
    so ``index + 2`` is the line number in the file.
    """
    spec = KAGGLE_FILES[name]
    path = Path(path)
    if not path.is_file():
        raise FavoritaDataError(
            spec.filename,
            f"file not found at {path}",
            fix=f"put the Kaggle file {spec.filename} in {path.parent} (or point FAVORITA_DATA_DIR at the folder "
            "that holds it); `favorita sample-data --out DIR` writes a complete generated set",
        )
    encoding = detect_encoding(path)
    header_line = _first_line(path, spec, encoding)
    delimiter = delimiter_of(header_line)
    source: Path | bytes = path
    if delimiter != ",":  # Excel's "CSV" with semicolons (decimal commas) or "Unicode text" (tabs): made a comma CSV
        source, encoding = _as_comma_csv(path, spec, encoding, delimiter), UTF8
    _check_columns([c.strip() for c in next(csv.reader([header_line], delimiter=delimiter))], spec)
    try:
        table = _read_typed(source, spec, encoding)
    except pa.ArrowInvalid as exc:
        if "CSV parse error" in str(exc):
            _raise_bad_row(source, spec, encoding, delimiter)
        if encoding == UTF8 and "UTF8" in str(exc):  # not UTF-8 after all: Excel's Windows code page
            encoding = _single_byte_encoding(path)
            try:
                table = _read_typed(source, spec, encoding)
            except pa.ArrowInvalid as again:
                if "CSV parse error" in str(again):
                    _raise_bad_row(source, spec, encoding, delimiter)
                _raise_bad_value(source, spec, again, encoding)
                raise
        else:
            _raise_bad_value(source, spec, exc, encoding)
            raise  # _raise_bad_value always raises; this keeps type checkers calm
    if table.num_rows == 0:
        raise FavoritaDataError(
            spec.filename,
            "the file has a header but no data rows",
            fix=f"supply a {spec.filename} with data, as exported from Kaggle",
        )
    frame = table.to_pandas(date_as_object=False)
    for column, kind in spec.columns.items():
        if kind == DATE:
            frame[column] = frame[column].astype("datetime64[ns]")
    _check_nulls(frame, spec)
    frame.attrs["encoding"] = encoding
    return frame


# pyarrow reads UTF-8 natively; any other name makes it decode through Python's codec of that name.
UTF8 = "utf8"
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def open_binary(path: str | Path):
    """The file's bytes, decompressed when it is gzip (``train.csv.gz``, as Kaggle files are often kept)."""
    path = Path(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def detect_encoding(path: Path) -> str:
    """The encoding to read ``path`` with: from its byte-order mark (Excel's "CSV UTF-8" starts with one; "Unicode
    text" is UTF-16), else UTF-8. A file that turns out not to be UTF-8 is re-read as Windows-1252 / Latin-1 by
    :func:`read_kaggle_csv`."""
    with open_binary(path) as handle:
        start = handle.read(3)
    return next((name for bom, name in _BOMS if start.startswith(bom)), UTF8)


def _single_byte_encoding(path: Path) -> str:
    """Windows-1252 (what Excel writes on Spanish and English Windows) when every byte is defined there, else
    Latin-1 (which defines every byte)."""
    try:
        with open_binary(path) as handle:
            handle.read().decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def read_dates(path: str | Path) -> pd.Series:
    """Only the ``date`` column of a Kaggle file, as datetimes (fast: the other columns are not parsed)."""
    path = Path(path)
    if not path.is_file():
        raise FavoritaDataError(path.name, f"file not found at {path}", fix=f"put {path.name} in {path.parent}")
    encoding = detect_encoding(path)
    spec = next((s for s in KAGGLE_FILES.values() if s.filename == path.name.removesuffix(".gz")), None)
    with (
        open_binary(path) as raw,
        io.TextIOWrapper(
            raw, encoding="utf-8" if encoding == UTF8 else encoding, errors="replace", newline=""
        ) as handle,
    ):
        delimiter = delimiter_of(handle.readline())
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(include_columns=["date"], column_types={"date": pa.date32()}),
        )
    except (pa.ArrowInvalid, KeyError) as error:
        if spec is not None and "CSV parse error" in str(error):
            _raise_bad_row(path, spec, encoding, delimiter)
        raise FavoritaDataError(
            path.name,
            f"cannot read its date column ({str(error).splitlines()[0]})",
            column="date",
            fix="write dates as YYYY-MM-DD under a 'date' header, as Kaggle's files do",
        ) from None
    return table.column("date").to_pandas(date_as_object=False).astype("datetime64[ns]")


SAVE_AS_COMMA_CSV = (
    "save it from Excel as a comma-separated file: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)', with "
    "'.' as the decimal separator (Excel > Options > Advanced > uncheck 'Use system separators')"
)


def delimiter_of(header_line: str) -> str:
    """The field separator of a Kaggle-style file, from its header line: ',' (Kaggle's), ';' (Excel's "CSV" where
    the decimal separator is a comma) or a tab (Excel's "Unicode text")."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _as_comma_csv(path: Path, spec: FileSpec, encoding: str, delimiter: str) -> bytes:
    """A ';'- or tab-separated file as Kaggle's comma CSV (UTF-8), with decimal commas in numeric columns made
    points; lines stay lines, so line numbers in messages are the file's. A numeric column holding both ',' and
    '.' (thousands separators?) is ambiguous: refused, saying how to save a comma CSV from Excel."""
    with open_binary(path) as raw:
        data = raw.read()
    codec = "utf-8" if encoding == UTF8 else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        text = data.decode(_single_byte_encoding(path))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
    header = [c.strip() for c in rows[0]] if rows else []
    numeric = [i for i, c in enumerate(header) if spec.columns.get(c) in (INT, FLOAT)]
    for i in numeric:
        values = [r[i] for r in rows[1:] if i < len(r)]
        commas = [n for n, v in enumerate(values) if "," in v]
        if commas and any("." in v for v in values):
            line = next(n + 2 for n, r in enumerate(rows[1:]) if i < len(r) and "," in r[i])
            raise FavoritaDataError(
                spec.filename,
                f"the {'semicolon' if delimiter == ';' else 'tab'}-separated file mixes ',' and '.' in numbers, so "
                "neither can be read as the decimal separator",
                column=header[i],
                value=rows[line - 1][i],
                rows=[line],
                fix=SAVE_AS_COMMA_CSV,
            )
        for row in rows[1:]:
            if i < len(row) and "," in row[i]:
                row[i] = row[i].replace(",", ".")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _raise_bad_row(source: Path | bytes, spec: FileSpec, encoding: str, delimiter: str) -> None:
    """Name the first line whose field count differs from the header's (pyarrow only says 'Expected 6 columns')."""
    if isinstance(source, bytes):
        text, delimiter = source.decode(), ","
    else:
        with open_binary(source) as raw:
            text = raw.read().decode("utf-8" if encoding == UTF8 else encoding, errors="replace")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    expected = None
    for row in reader:
        if expected is None:
            expected = len(row)
            continue
        if row and len(row) != expected:
            raise FavoritaDataError(
                spec.filename,
                f"line {reader.line_num} has {len(row)} fields where the header has {expected}",
                value=delimiter.join(row)[:120],
                rows=[reader.line_num],
                fix=f"give every row the header's {expected} fields ({','.join(spec.columns)}, in the header's "
                "order); a missing value is an empty field between two commas",
            )
    raise FavoritaDataError(
        spec.filename,
        "the file is not a well-formed CSV (a quote left open?)",
        fix="check the file's quotes, or export it again as CSV",
    )


def _read_typed(source: Path | bytes, spec: FileSpec, encoding: str, types: dict | None = None) -> pa.Table:
    return pacsv.read_csv(
        pa.BufferReader(source) if isinstance(source, bytes) else source,
        read_options=pacsv.ReadOptions(encoding=encoding),
        convert_options=pacsv.ConvertOptions(
            column_types=types or {c: _ARROW_TYPES[k] for c, k in spec.columns.items()},
            include_columns=list(spec.columns),
            strings_can_be_null=False,
        ),
    )


def _first_line(path: Path, spec: FileSpec, encoding: str = UTF8) -> str:
    codec = "utf-8" if encoding == UTF8 else encoding
    with open_binary(path) as raw, io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="") as handle:
        first = handle.readline().lstrip("\ufeff")
    if not first.strip():
        raise FavoritaDataError(
            spec.filename,
            f"the file at {path} is empty (not even a header line)",
            fix=f"supply a {spec.filename} with the header {','.join(spec.columns)} and data rows",
        )
    return first.rstrip("\r\n")


def _check_columns(header: list[str], spec: FileSpec) -> None:
    for column in spec.columns:
        if column in header:
            continue
        extras = [h for h in header if h not in spec.columns]
        close = difflib.get_close_matches(column, extras, n=1, cutoff=0.5)
        hint = f" (found '{close[0]}': renamed?)" if close else ""
        raise FavoritaDataError(
            spec.filename,
            f"required column '{column}' is missing{hint}; the header is {','.join(header)}",
            column=column,
            value=close[0] if close else None,
            rows=[1],
            fix=f"name the columns exactly as Kaggle does: {','.join(spec.columns)}",
        )


def _raise_bad_value(path: Path | bytes, spec: FileSpec, exc: Exception, encoding: str = UTF8) -> None:
    """Re-read the typed columns as text and name the first value that does not parse."""
    text = _read_typed(path, spec, encoding, types={c: pa.string() for c in spec.columns}).to_pandas()
    for column, kind in spec.columns.items():
        if kind not in _KIND_WORDS:
            continue
        raw = text[column].str.strip()
        blank = raw == ""
        if kind == DATE:
            parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
            bad = parsed.isna() & ~blank
        elif kind == BOOL:
            bad = ~raw.isin(["True", "False", "true", "false", "TRUE", "FALSE", "1", "0"]) & ~blank
        else:
            numbers = pd.to_numeric(raw, errors="coerce")
            bad = numbers.isna() & ~blank
            if kind == INT:
                bad |= numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()
            value = raw[bad].iloc[0]
            raise FavoritaDataError(
                spec.filename,
                f"column '{column}' must hold {_KIND_WORDS[kind]}, but {int(bad.sum())} value(s) do not",
                column=column,
                value=value,
                rows=rows,
                fix=f"correct or remove those rows so every '{column}' is {_KIND_WORDS[kind]}",
            )
    raise FavoritaDataError(
        spec.filename,
        f"the file could not be parsed as CSV: {exc}",
        fix="check that the file is comma-separated text (UTF-8, as Kaggle ships it) with one header line",
    )


def _check_nulls(frame: pd.DataFrame, spec: FileSpec) -> None:
    for column in spec.columns:
        if column in spec.nullable:
            continue
        empty = frame[column].isna().to_numpy()
        if empty.any():
            raise FavoritaDataError(
                spec.filename,
                f"column '{column}' has {int(empty.sum())} empty value(s)",
                column=column,
                value="",
                rows=(np.flatnonzero(empty) + 2).tolist(),
                fix=f"fill in '{column}' on those lines or remove the lines",
            )


# --- content rules: each returns the offending rows (empty when the rule holds), with a `line` column -------------


def _with_lines(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows under ``mask`` with their line in the file: index + 2 (the header is line 1). A frame read by
    :func:`read_kaggle_csv` has a RangeIndex; a subset of it (one series, rows before a cut-off) keeps the index of
    the rows it holds, so the line named is the file's either way."""
    mask = np.asarray(mask, dtype=bool)
    offending = frame.loc[mask].copy()
    positions = frame.index.to_numpy() if pd.api.types.is_integer_dtype(frame.index) else np.arange(len(frame))
    offending.insert(0, "line", positions[mask] + 2)
    return offending


def duplicate_key_rows(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Rows whose key columns repeat an earlier row's (every copy is returned)."""
    if not key:
        return frame.iloc[0:0]
    mask = frame.duplicated(list(key), keep=False).to_numpy()
    return _with_lines(frame, mask)


def negative_rows(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows whose ``column`` is below zero."""
    return _with_lines(frame, (frame[column].to_numpy() < 0))


def unknown_store_rows(frame: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` whose store_nbr is not in stores.csv."""
    return _with_lines(frame, ~frame["store_nbr"].isin(stores["store_nbr"]).to_numpy())


def invalid_holiday_rows(holidays: pd.DataFrame) -> pd.DataFrame:
    """Holiday rows whose type or locale is not one Kaggle uses."""
    mask = ~holidays["type"].isin(HOLIDAY_TYPES).to_numpy() | ~holidays["locale"].isin(HOLIDAY_LOCALES).to_numpy()
    return _with_lines(holidays, mask)


def missing_calendar_dates(dates: pd.Series) -> list[pd.Timestamp]:
    """Days between the first and last date that no row covers (for example 25 December in train.csv)."""
    unique = pd.DatetimeIndex(pd.unique(dates)).sort_values()
    if len(unique) == 0:
        return []
    full = pd.date_range(unique[0], unique[-1], freq="D")
    return list(full.difference(unique))


def ensure_valid(name: str, frame: pd.DataFrame, stores: pd.DataFrame | None = None) -> None:
    """Raise FavoritaDataError for the first content rule a raw file breaks: unique keys, no negative values,
    known holiday types, and (given stores) known stores."""
    spec = KAGGLE_FILES[name]
    duplicates = duplicate_key_rows(frame, spec.key)
    if len(duplicates):
        first = duplicates.iloc[0]
        value = ", ".join(f"{c}={_plain(first[c])}" for c in spec.key)
        raise FavoritaDataError(
            spec.filename,
            f"{len(duplicates)} rows share a key ({', '.join(spec.key)}) with another row",
            column=", ".join(spec.key),
            value=value,
            rows=duplicates["line"].tolist(),
            fix="keep one row per key: remove the repeated rows (or sum them if they are partial records)",
        )
    for column in ("sales", "onpromotion", "transactions", "dcoilwtico"):
        if column in frame.columns:
            negative = negative_rows(frame, column)
            if len(negative):
                raise FavoritaDataError(
                    spec.filename,
                    f"{len(negative)} row(s) have a negative {column}",
                    column=column,
                    value=_plain(negative[column].iloc[0]),
                    rows=negative["line"].tolist(),
                    fix=f"{column} cannot be below zero: correct those rows (returns belong in a separate file)",
                )
    if name == "holidays_events":
        invalid = invalid_holiday_rows(frame)
        if len(invalid):
            row = invalid.iloc[0]
            raise FavoritaDataError(
                spec.filename,
                "unknown holiday type or locale",
                column="type" if row["type"] not in HOLIDAY_TYPES else "locale",
                value=row["type"] if row["type"] not in HOLIDAY_TYPES else row["locale"],
                rows=invalid["line"].tolist(),
                fix=f"type must be one of {', '.join(HOLIDAY_TYPES)}; locale one of {', '.join(HOLIDAY_LOCALES)}",
            )
    if stores is not None and "store_nbr" in frame.columns:
        unknown = unknown_store_rows(frame, stores)
        if len(unknown):
            raise FavoritaDataError(
                spec.filename,
                f"{len(unknown)} row(s) refer to a store that stores.csv does not list",
                column="store_nbr",
                value=int(unknown["store_nbr"].iloc[0]),
                rows=unknown["line"].tolist(),
                fix="add the store to stores.csv (store_nbr, city, state, type, cluster) or remove its rows",
            )


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        return value.item()
    return value
