"""Reading JSONL/parquet tables row by row and writing files atomically.

Every reader error is a :class:`DataError` naming the file, the row (1-based, in file order) and the
field. Writers go through a temporary file in the destination's directory and ``os.replace``, so an
interrupted run leaves either the previous file or the complete new one, never half of one.
"""

from __future__ import annotations

import glob
import gzip
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


TABLE_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet", ".pq")


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith((".jsonl.gz", ".json.gz")):
        return "jsonl.gz"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataError(path, None, None, f"unknown file type {path.suffix!r}: use .jsonl, .jsonl.gz or .parquet")


def _open_text(path: Path):
    if _format_of(path) == "jsonl.gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def expand_inputs(specs: Iterable) -> list[Path]:
    """Files named by ``--input`` values: files, glob patterns (``shards/train-*.parquet``) and
    folders (every table file inside, sorted). Each value must name at least one file."""
    paths = []
    for spec in specs:
        spec = str(spec)
        if glob.has_magic(spec):
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        elif Path(spec).is_dir():
            found = sorted(p for p in Path(spec).iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES))
        else:
            found = [Path(spec)]
        if not found:
            raise DataError(spec, None, None, "matches no file" if glob.has_magic(spec) else "folder holds no "
                            ".jsonl, .jsonl.gz or .parquet file")
        for path in found:
            if not path.exists():
                raise DataError(path, None, None, "file not found")
            _format_of(path)
        paths += found
    return paths


def count_records(path) -> int:
    """Number of rows (cheap: parquet metadata, or a line count)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, None, "file not found")
    if _format_of(path) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with _open_text(path) as handle:
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
        # pre_buffer=False: with pyarrow's default (True) iter_batches keeps the column chunks it has
        # read; buffer_size: without it a whole column chunk is read at once. With both, one data
        # page at a time (measured by scripts/bench/bench_pairs_memory.py)
        reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in reader.iter_batches(batch_size=batch_size, columns=columns, use_threads=False):
            for record in batch.to_pylist():
                row += 1
                yield row, record
        return
    with _open_text(path) as handle:
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


def summary_path(out) -> Path:
    """Where a command saves the summary of the file it wrote: ``problems.jsonl`` ->
    ``problems.summary.json``."""
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".summary.json")


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


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_jsonl_atomic(path, records: Iterable[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class _TableWriter:
    """Rows appended one at a time: JSONL lines, or parquet row groups of ``batch_rows`` rows."""

    def __init__(self, tmp: Path, kind: str, schema: pa.Schema | None, batch_rows: int):
        self.kind, self.schema, self.batch_rows, self.rows = kind, schema, batch_rows, 0
        self._batch: list[dict] = []
        self._text = open(tmp, "w", encoding="utf-8") if kind == "jsonl" else None
        self._parquet: pq.ParquetWriter | None = None
        self._tmp = tmp

    def write(self, record: dict) -> None:
        self.rows += 1
        if self._text is not None:
            self._text.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        self._batch.append(record)
        if len(self._batch) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        table = pa.Table.from_pylist(self._batch, schema=self.schema)
        if self._parquet is None:
            self.schema = table.schema
            self._parquet = pq.ParquetWriter(self._tmp, table.schema)
        self._parquet.write_table(table)
        self._batch = []

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
            return
        self._flush()
        if self._parquet is None:  # no rows: an empty file with the schema, when there is one
            pq.write_table(pa.Table.from_pylist([], schema=self.schema), self._tmp)
        else:
            self._parquet.close()


@contextmanager
def table_writer(path, schema: pa.Schema | None = None, batch_rows: int = 256):
    """Write rows one by one (memory holds at most ``batch_rows``), atomically, as parquet or JSONL
    by the file's suffix; parquet uses ``schema`` (or the first batch's)."""
    path = Path(path)
    kind = _format_of(path)
    if kind == "jsonl.gz":
        raise DataError(path, None, None, "cannot write .gz: use .jsonl or .parquet")
    with atomic_path(path) as tmp:
        writer = _TableWriter(tmp, kind, schema, batch_rows)
        try:
            yield writer
        finally:
            writer.close()


def write_records(path, records: list[dict]) -> None:
    """Write rows atomically as parquet or JSONL, chosen by the file's suffix."""
    if _format_of(Path(path)) == "parquet":
        write_parquet_atomic(path, records)
    else:
        write_jsonl_atomic(path, records)
