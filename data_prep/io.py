"""Reading JSONL/parquet tables row by row and writing files atomically.

Every reader error is a :class:`DataError` naming the file, the row (1-based, in file order) and the
field. Writers go through a temporary file in the destination's directory and ``os.replace``, so an
interrupted run leaves either the previous file or the complete new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq


#: Rows per parquet data page when writing: pyarrow closes a page only between write batches, so
#: with its default (1024 rows) a page of 50 KB responses holds 50 MB, and a reader must hold a
#: whole page. Pages stay at about 1 MB for small rows.
PAGE_ROWS = 64


class DataError(ValueError):
    """Bad input, located: ``file, row N, field 'x': what is wrong``."""

    def __init__(self, path, row: int | None, field: str | None, message: str):
        self.path, self.row, self.field = str(path), row, field
        where = [self.path]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise DataError(path, None, None, f"unknown file type {suffix!r}: use .jsonl or .parquet")


def count_records(path) -> int:
    """Number of rows (cheap: parquet metadata, or a line count)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, None, "file not found")
    if _format_of(path) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def columns_of(path) -> list[str] | None:
    """Column names of a parquet file (None for JSONL, whose rows may differ)."""
    path = Path(path)
    if _format_of(path) == "parquet":
        return pq.ParquetFile(path).schema_arrow.names
    return None


def require_columns(path, required: Iterable[str]) -> None:
    """Fail early, naming the column, when a parquet file lacks a required column."""
    names = columns_of(path)
    if names is None:
        return
    for column in required:
        if column not in names:
            raise DataError(path, None, column, f"missing column (found: {', '.join(names)})")


def read_records(path, columns: list[str] | None = None, batch_size: int = 1024) -> Iterator[tuple[int, dict]]:
    """Yield ``(row_number, record)`` from a JSONL or parquet file, streaming.

    Parquet is read one data page at a time (no pre-buffering of whole row groups), so memory is
    bounded by the file's page size and ``batch_size``, not by its row groups.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, None, "file not found")
    if _format_of(path) == "parquet":
        row = 0
        reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in reader.iter_batches(batch_size=batch_size, columns=columns, use_threads=False):
            for record in batch.to_pylist():
                row += 1
                yield row, record
        return
    with open(path, encoding="utf-8") as handle:
        row = 0
        for line in handle:
            if not line.strip():
                continue
            row += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, row, None, f"invalid JSON: {exc}") from None
            if not isinstance(record, dict):
                raise DataError(path, row, None, f"expected a JSON object, got {type(record).__name__}")
            yield row, record


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; the result gets the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(path, records: list[dict] | pa.Table, schema: pa.Schema | None = None) -> None:
    """Write rows (dicts) or a table to parquet atomically."""
    table = records if isinstance(records, pa.Table) else pa.Table.from_pylist(list(records), schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, write_batch_size=PAGE_ROWS)


def write_json_atomic(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_jsonl_atomic(path, records: Iterable[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_table(path, records: list[dict]) -> None:
    """Write rows atomically as parquet or JSONL, chosen by the file's suffix."""
    if _format_of(Path(path)) == "parquet":
        write_parquet_atomic(path, records)
    else:
        write_jsonl_atomic(path, records)
