"""The split files of ``python -m data_prep pairs``, written and checked as one set.

A run writes every split it produced to a temporary file, removes the manifest, moves the files
into place, deletes the split files of an earlier run that this run did not produce (a split that
came out empty, ``val_math_ood`` without ``--math``), and writes the manifest ``splits.json`` last:
the set's id, its files and their row counts. Every file also carries the id in its parquet
metadata (``corpo.split_set``). So the folder never holds two runs' files under a valid manifest:
an interrupted run leaves no manifest, or the old one with a file that does not carry its id, and
``check_split_set`` refuses both.
"""

from __future__ import annotations

import itertools
import json
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.formats.io import PAGE_ROWS, DataError, atomic_path, write_json_atomic

CODE_SPLITS = ("train", "val_code_id", "val_code_ood")
MATH_SPLIT = "val_math_ood"
SPLITS = CODE_SPLITS + (MATH_SPLIT,)

MANIFEST = "splits.json"
SET_ID_KEY = b"corpo.split_set"
WRITE_CHUNK_ROWS = 256


def _write_rows(path: Path, first: dict, rest: Iterable[dict], set_id: str) -> int:
    """Write rows to parquet in chunks (memory: one chunk), tagged with the set's id; the row count."""
    rows = itertools.chain([first], rest)
    chunk = list(itertools.islice(rows, WRITE_CHUNK_ROWS))
    schema = pa.Table.from_pylist(chunk).schema.with_metadata({SET_ID_KEY: set_id.encode()})
    written = 0
    with pq.ParquetWriter(path, schema, write_batch_size=PAGE_ROWS) as writer:
        while chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            written += len(chunk)
            chunk = list(itertools.islice(rows, WRITE_CHUNK_ROWS))
    return written


def write_split_set(directory, splits: dict[str, Iterable[dict]], names: Iterable[str] = SPLITS) -> dict:
    """Write ``splits`` (name -> rows) as ``DIR/<name>.parquet``, one set; ``names`` are all the
    split names a run can write (those not written are removed). Returns the manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    set_id = uuid.uuid4().hex
    written: dict[str, int] = {}
    with ExitStack() as moves:  # each file is moved into place when the block ends without error
        for name, rows in splits.items():
            rows = iter(rows)
            first = next(rows, None)
            if first is not None:
                tmp = moves.enter_context(atomic_path(directory / f"{name}.parquet"))
                written[name] = _write_rows(tmp, first, rows, set_id)
        (directory / MANIFEST).unlink(missing_ok=True)
    for name in names:
        if name not in written:
            (directory / f"{name}.parquet").unlink(missing_ok=True)
    manifest = {"set_id": set_id, "splits": {name: {"file": f"{name}.parquet", "rows": rows}
                                             for name, rows in written.items()}}
    write_json_atomic(directory / MANIFEST, manifest)
    return manifest


def check_split_set(directory, names: Iterable[str] = SPLITS) -> dict:
    """The manifest of a folder written by ``pairs``, after checking that every split file in it
    belongs to that one set (``DataError`` otherwise). ``names``: the split names to look for."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.exists():
        raise DataError(path, None, None, "missing: the folder holds no complete split set of `data_prep pairs` "
                                          "(never written, or a run was interrupted): run `pairs` again")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name in names:
        file = directory / f"{name}.parquet"
        listed = manifest["splits"].get(name)
        if listed is None:
            if file.exists():
                raise DataError(file, None, None, f"not in the set {manifest['set_id']} of {path}: left by another run")
            continue
        if not file.exists():
            raise DataError(file, None, None, f"missing, but listed in {path}")
        meta = pq.ParquetFile(file).metadata
        tag = (meta.metadata or {}).get(SET_ID_KEY, b"").decode()
        if tag != manifest["set_id"] or meta.num_rows != listed["rows"]:
            raise DataError(file, None, None, f"belongs to set {tag or 'none'} with {meta.num_rows} rows, but {path} "
                                              f"lists set {manifest['set_id']} with {listed['rows']}: run `pairs` again")
    return manifest


def check_data_files(paths: Iterable) -> None:
    """Check the training and validation files that come from a ``pairs`` folder (one holding
    ``splits.json``): the folder's set is whole and each file named is in it. Other files pass."""
    for path in map(Path, paths):
        if not (path.parent / MANIFEST).exists():
            continue
        manifest = check_split_set(path.parent)
        if path.stem in SPLITS and path.stem not in manifest["splits"]:
            raise DataError(path, None, None, f"not written by the last `data_prep pairs` run into {path.parent} "
                                              f"(it wrote: {', '.join(manifest['splits']) or 'nothing'})")
