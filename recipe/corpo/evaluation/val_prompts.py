"""The prompts ``recipe.corpo.evaluation.evaluate`` samples: exactly the validation prompts training sees.

1. :func:`read_val_rows` reads and validates every row of the validation files before anything
   is sampled: columns, ``data_source``, the chat messages, and the labels with the reward's own
   parser (:func:`corpo_advantage.reward.parse_labels`), so a label the reward would reject later
   stops the run now, naming the file, row and field; files of a ``data_prep pairs`` folder must
   be one split set (:func:`data_prep.formats.split_set.check_data_files`, the trainer's own check).
2. :class:`PromptRenderer` renders a row as verl does for validation: the tokenizer that verl's
   trainer loads for ``actor_rollout_ref.model.path`` (``verl.utils.hf_tokenizer``), the length
   that verl's ``RLHFDataset`` compares with ``data.max_prompt_length`` when
   ``data.filter_overlong_prompts=true`` (the chat template with the generation prompt and
   ``data.apply_chat_template_kwargs``, tokenized), and the token ids verl's agent loop sends to the
   rollout (verl's Continuous Token builder for the model's ``model_type``). Without the filter,
   the agent loop left-truncates a prompt to ``max_prompt_length`` tokens, and so does this.
3. :func:`build_prompts` keeps the rows the filter keeps and, for the order-consistency metric,
   adds each pair with responses A and B exchanged (:func:`data_prep.formats.verl_rows.swap_candidates`).

A prompt is named by its file's resolved path and its row (``/data/a/val.parquet:3``), so files
with the same name in different folders stay different prompts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpo_advantage.reward import parse_labels
from data_prep.formats.io import DataError, read_records, require_columns
from data_prep.formats.split_set import check_data_files
from data_prep.formats.verl_rows import swap_candidates

COLUMNS = ("data_source", "prompt", "reward_model")
ORIGINAL, SWAPPED = "original", "swapped"


@dataclass(frozen=True)
class ValRow:
    """One validated row of a validation file."""

    key: str  # "<resolved path>:<row>", rows numbered from 1
    row: int
    data_source: str
    messages: tuple[dict, ...]
    labels: tuple[int, int]
    digest: str  # of the row's content: with the row number it seeds the row's samples (not the path)


@dataclass(frozen=True)
class EvalPrompt:
    """One prompt to sample: a validation row in its original order or with A and B swapped."""

    key: str
    order: str
    data_source: str
    labels: tuple[int, int]  # as the prompt shows them: (yB, yA) for the swapped order
    token_ids: tuple[int, ...]
    seed_key: str

    @property
    def ground_truth(self) -> str:
        return json.dumps({"labels": list(self.labels)})


@dataclass
class PromptReport:
    """What :func:`build_prompts` kept and dropped, for the log and the run summary."""

    rows: int = 0
    kept: int = 0
    dropped_overlong: Counter = field(default_factory=Counter)  # per file
    truncated: int = 0
    swapped: int = 0
    swap_unavailable: int = 0
    swap_overlong: int = 0

    def as_dict(self) -> dict:
        return {"rows": self.rows, "kept": self.kept, "dropped_overlong": dict(self.dropped_overlong),
                "truncated": self.truncated, "swapped": self.swapped, "swap_unavailable": self.swap_unavailable,
                "swap_overlong": self.swap_overlong}


def _messages(path: Path, row: int, value) -> tuple[dict, ...]:
    if not isinstance(value, list) or not value:
        raise DataError(path, row, "prompt", "expected a non-empty list of chat messages")
    for message in value:
        if not isinstance(message, dict) or not all(isinstance(message.get(k), str) for k in ("role", "content")):
            raise DataError(path, row, "prompt", f"each message needs string 'role' and 'content', got {message!r:.200}")
    return tuple({"role": m["role"], "content": m["content"]} for m in value)


def read_val_rows(paths: list[Path]) -> list[ValRow]:
    """Every row of the validation files, validated (``DataError`` naming file, row and field);
    files from a ``data_prep pairs`` folder must belong to its one split set, as training checks."""
    check_data_files(paths)
    rows: list[ValRow] = []
    seen: dict[Path, Path] = {}
    for given in paths:
        path = Path(given).resolve()
        if path in seen:
            raise DataError(given, None, None, f"given twice (also as {seen[path]})")
        seen[path] = Path(given)
        require_columns(given, COLUMNS)
        for row, record in read_records(given, columns=list(COLUMNS)):
            for column in COLUMNS:
                if record.get(column) is None:
                    raise DataError(given, row, column, "missing")
            if not isinstance(record["data_source"], str) or not record["data_source"]:
                raise DataError(given, row, "data_source", f"expected a non-empty string, got {record['data_source']!r}")
            messages = _messages(given, row, record["prompt"])
            reward_model = record["reward_model"]
            ground_truth = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
            try:
                labels = parse_labels(ground_truth)
            except ValueError as err:
                raise DataError(given, row, "reward_model.ground_truth", str(err)) from None
            content = json.dumps([record["data_source"], messages, labels], sort_keys=True)
            rows.append(ValRow(key=f"{path}:{row}", row=row, data_source=record["data_source"], messages=messages,
                               labels=labels, digest=hashlib.sha256(content.encode()).hexdigest()[:16]))
    return rows


class PromptRenderer:
    """The validation prompt as verl's trainer renders, filters and sends it (module docstring)."""

    def __init__(self, model_dir: Path, max_prompt_length: int, filter_overlong: bool = True,
                 chat_template_kwargs: dict | None = None):
        from transformers import AutoConfig
        from verl.utils import hf_tokenizer
        from verl.utils.tokenizer.continuous_token_wiring import (
            create_continuous_token_builder,
        )

        if max_prompt_length < 1:
            raise ValueError(f"max_prompt_length must be >= 1, got {max_prompt_length}")
        self.max_prompt_length = max_prompt_length
        self.filter_overlong = filter_overlong
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.tokenizer = hf_tokenizer(str(model_dir))
        model_type = getattr(AutoConfig.from_pretrained(model_dir), "model_type", None)
        self._builder = create_continuous_token_builder(
            self.tokenizer, hf_model_type=model_type, chat_template_kwargs=self.chat_template_kwargs)

    def filter_length(self, messages) -> int:
        """The length ``RLHFDataset`` compares with ``data.max_prompt_length``."""
        from verl.utils.tokenizer import normalize_token_ids

        return len(normalize_token_ids(self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=True, **self.chat_template_kwargs)))

    def render(self, messages) -> tuple[tuple[int, ...] | None, bool]:
        """The token ids the rollout gets (None when training drops the prompt as too long), and
        whether they were left-truncated (only without the filter)."""
        if self.filter_overlong and self.filter_length(messages) > self.max_prompt_length:
            return None, False
        ids = list(self._builder.build_initial_tokens(list(messages)))
        return tuple(ids[-self.max_prompt_length:]), len(ids) > self.max_prompt_length


def build_prompts(rows: list[ValRow], renderer: PromptRenderer, swapped: bool) -> tuple[list[EvalPrompt], PromptReport]:
    """The prompts to sample: the rows the training filter keeps, and (``swapped``) each of them
    with A and B exchanged where the prompt allows it."""
    prompts, report = [], PromptReport(rows=len(rows))
    for row in rows:
        ids, truncated = renderer.render(row.messages)
        if ids is None:
            report.dropped_overlong[row.key.rsplit(":", 1)[0]] += 1
            continue
        report.kept += 1
        report.truncated += truncated
        prompts.append(EvalPrompt(key=row.key, order=ORIGINAL, data_source=row.data_source, labels=row.labels,
                                  token_ids=ids, seed_key=f"{row.digest}:{row.row}:{ORIGINAL}"))
        if not swapped:
            continue
        messages = swap_candidates(row.messages)
        if messages is None:
            report.swap_unavailable += 1
            continue
        swapped_ids, truncated = renderer.render(messages)
        report.truncated += truncated
        if swapped_ids is None:
            report.swap_overlong += 1
            continue
        report.swapped += 1
        prompts.append(EvalPrompt(key=row.key, order=SWAPPED, data_source=row.data_source, labels=row.labels[::-1],
                                  token_ids=swapped_ids, seed_key=f"{row.digest}:{row.row}:{SWAPPED}"))
    return prompts, report
