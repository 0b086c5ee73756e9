"""open-r1/codeforces' generated tests: ``generated_tests/test_cases_*.parquet`` on the hub.

Columns (dataset card): ``problem_id`` (the problem row's ``id``), ``input``, ``output``, ``test_i``
(the test's number). The files are indexed once (only their ``problem_id`` column is read); a
problem's tests are then read from the files that hold it, filtered on ``problem_id`` (parquet
predicate pushdown), so memory holds one problem's tests at a time, never the whole set.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from data_prep.formats.io import DataError

COLUMNS = ("problem_id", "input", "output", "test_i")


class GeneratedTests:
    """Look up a problem's generated tests, in ``test_i`` order, across the given parquet files."""

    def __init__(self, paths: list[Path]):
        self.paths = [Path(p) for p in paths]
        self._files_of: dict[str, list[Path]] = defaultdict(list)
        for path in self.paths:
            try:
                names = pq.ParquetFile(path).schema_arrow.names
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
                raise DataError(path, None, None, f"not a readable parquet file: {exc}") from None
            for column in COLUMNS:
                if column not in names:
                    raise DataError(path, None, column, f"missing column (generated tests need {', '.join(COLUMNS)})")
            problem_ids = pq.read_table(path, columns=["problem_id"]).column("problem_id").unique().to_pylist()
            for problem_id in problem_ids:
                self._files_of[str(problem_id)].append(path)

    @property
    def problems(self) -> int:
        return len(self._files_of)

    def cases(self, problem_id: str) -> list[dict]:
        """The generated tests of one problem (``[]`` when it has none)."""
        rows = []
        for path in self._files_of.get(problem_id, ()):
            table = pq.read_table(path, columns=list(COLUMNS), filters=[("problem_id", "=", problem_id)])
            rows += table.to_pylist()
        rows.sort(key=lambda row: row["test_i"])
        for row in rows:
            if not isinstance(row["input"], str) or not isinstance(row["output"], str):
                raise DataError(self._files_of[problem_id][0], None, "input/output",
                                f"problem {problem_id!r}, test {row['test_i']}: expected strings")
        return [{"input": row["input"], "output": row["output"]} for row in rows]
