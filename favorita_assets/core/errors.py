"""The one error type bad input raises: it names the file, the column, the value and what to do."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class FavoritaDataError(ValueError):
    """Input data that the pipeline refuses, described so that a person can fix it.

    ``rows`` are 1-based line numbers in the file (the header is line 1), so an editor jumps straight to them.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        fix: str,
        column: str | None = None,
        value: object | None = None,
        rows: Sequence[int] = (),
    ) -> None:
        self.file = file
        self.problem = problem
        self.fix = fix
        self.column = column
        # A numpy scalar shows as the number a person typed (-5), not as np.int64(-5).
        self.value = value = value.item() if isinstance(value, np.generic) else value
        self.rows = [int(r) for r in rows]
        lines = [f"{file}: {problem}"]
        if column is not None:
            lines.append(f"  column: {column}")
        if value is not None:
            lines.append(f"  value: {value!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:10])
            more = f" (and {len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
            lines.append(f"  line(s): {shown}{more}")
        lines.append(f"  what to do: {fix}")
        super().__init__("\n".join(lines))

    @classmethod
    def from_metadata(cls, meta: dict[str, object]) -> FavoritaDataError:
        """Rebuild an error from :meth:`as_metadata` (how a Glue job's refusal reaches Dagster)."""
        lines = [int(r) for r in str(meta.get("lines") or "").split(",") if r.strip()]
        return cls(
            str(meta["file"]),
            str(meta["problem"]),
            fix=str(meta["what_to_do"]),
            column=str(meta["column"]) if meta.get("column") else None,
            value=meta["value"] if meta.get("value") not in (None, "") else None,
            rows=lines,
        )

    @classmethod
    def parse(cls, text: str) -> FavoritaDataError | None:
        """Rebuild an error from its own message (Spark re-raises an executor's exception as text)."""
        head, *rest = text.strip().splitlines() or [""]
        file, sep, problem = head.partition(": ")
        fields = {}
        for line in rest:
            name, _, text = line.strip().partition(": ")
            fields[name] = text
            if name == "what to do":
                break
        if not sep or "what to do" not in fields:
            return None
        value = fields.get("value")
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        rows = [int(r) for r in fields.get("line(s)", "").split(" (")[0].split(",") if r.strip().isdigit()]
        return cls(file, problem, fix=fields["what to do"], column=fields.get("column"), value=value, rows=rows)

    def as_metadata(self) -> dict[str, object]:
        """A flat dict for logs and Dagster metadata."""
        return {
            "file": self.file,
            "problem": self.problem,
            "column": self.column or "",
            "value": "" if self.value is None else str(self.value),
            "lines": ", ".join(str(r) for r in self.rows[:50]),
            "what_to_do": self.fix,
        }
