"""The scored samples of one evaluation run on disk, written as they are scored and resumable.

``OUT/<run>.samples.jsonl`` gets one line per scored answer, all answers of a prompt in one write
(flushed and synced), as soon as the prompt is done. ``OUT/<run>.manifest.json`` (written before
the first sample) holds what the samples depend on: the model's identity, the sampling settings,
the validation files' content hashes. Run the same command again after a crash and the samples
on disk are kept and only the missing prompts are sampled: a last line cut off by the crash is
dropped, and a prompt with fewer answers than asked for is sampled again, whole. A rerun with
different settings stops with the fields that differ, rather than mixing two evaluations in one
file (``--restart`` discards the old samples).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from data_prep.formats.io import DataError, atomic_path, write_json_atomic


class ResumeMismatch(ValueError):
    """The samples on disk belong to an evaluation with other settings."""


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{name}.")
        elif a != b:
            out.append(f"{prefix}{name}: {a!r:.120} on disk, {b!r:.120} now")
    return out


class SampleStore:
    """Append-only samples of one run, with the manifest that says which evaluation they are."""

    def __init__(self, out_dir: Path, run: str):
        self.samples_path = Path(out_dir) / f"{run}.samples.jsonl"
        self.manifest_path = Path(out_dir) / f"{run}.manifest.json"
        self._handle = None

    def check(self, manifest: dict, restart: bool = False) -> None:
        """Before anything expensive: the samples on disk, if any, are of this evaluation (or
        ``restart`` discards them)."""
        if restart:
            self.samples_path.unlink(missing_ok=True)
            self.manifest_path.unlink(missing_ok=True)
        if not self.samples_path.exists():
            return
        if not self.manifest_path.exists():
            raise ResumeMismatch(f"{self.samples_path} exists without {self.manifest_path.name}: it is not "
                                 "from this evaluation; use another --run or --out, or --restart to discard it")
        differences = _differences(json.loads(self.manifest_path.read_text()), manifest)
        if differences:
            raise ResumeMismatch(f"{self.samples_path} holds samples of another evaluation ("
                                 + "; ".join(differences) + "): use another --run or --out, or --restart to discard them")

    def open(self, manifest: dict, expected: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
        """Write the manifest, open the file for appending; return the (prompt, order) groups
        complete on disk (after :meth:`check`). ``expected`` gives the number of answers per
        (prompt_index, order) group of this evaluation."""
        self.check(manifest)
        done = self._keep_complete(expected) if self.samples_path.exists() else set()
        write_json_atomic(self.manifest_path, manifest)
        self._handle = open(self.samples_path, "a", encoding="utf-8")
        return done

    def _keep_complete(self, expected: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
        """Read the samples on disk; keep only complete groups (rewriting the file if needed)."""
        text = self.samples_path.read_text(encoding="utf-8")
        lines = text.split("\n")
        torn = lines.pop()  # "" after a final newline, else the line a crash cut off
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        indices: dict[tuple[str, str], set] = defaultdict(set)
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                group = (record["prompt_index"], record["order"])
                index = record["sample_index"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise DataError(self.samples_path, number, None, f"not a scored sample ({err!r}); the file is damaged") from None
            if group not in expected:
                raise DataError(self.samples_path, number, "prompt_index", f"{group} is not a prompt of this evaluation")
            groups[group].append(line)
            indices[group].add(index)
        done = {g for g, found in indices.items() if found == set(range(expected[g])) and len(groups[g]) == expected[g]}
        if torn or len(done) != len(groups):
            with atomic_path(self.samples_path) as temp:
                temp.write_text("".join(line + "\n" for g in groups if g in done for line in groups[g]), encoding="utf-8")
        return done

    def append(self, records: list[dict]) -> None:
        """Write one prompt's scored answers, flushed and synced (a crash keeps every finished prompt)."""
        self._handle.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
