"""GlueDataset: a GLUE task folder as tokenized features, cached on disk, as HF v3 scripts use it. No torch.

``GlueDataset(GlueDataTrainingArguments(task_name="mrpc", data_dir="glue/MRPC"), tokenizer, mode="dev")``
reads the task's TSV files with its processor, tokenizes them with ``glue_convert_examples_to_features``,
and caches the features as JSON lines next to the data (or in ``cache_dir``). A file lock makes concurrent
processes (torchrun) build the cache once. The cache is plain JSON: loading it runs no pickled code.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import time
from pathlib import Path
from typing import Any

from ..utils import atomic_write_text, get_logger
from .processors.glue import InputFeatures, glue_convert_examples_to_features, glue_output_modes, glue_processors

logger = get_logger(__name__)


class Split(enum.Enum):
    train = "train"
    dev = "dev"
    test = "test"


@dataclasses.dataclass
class GlueDataTrainingArguments:
    """Which GLUE task and folder to read, and how long inputs may be."""

    task_name: str = dataclasses.field(metadata={"help": "GLUE task: " + ", ".join(glue_processors)})
    data_dir: str = dataclasses.field(metadata={"help": "Folder holding the task's .tsv files."})
    max_seq_length: int = dataclasses.field(
        default=128, metadata={"help": "Tokens per example after truncation; shorter ones are padded."})
    overwrite_cache: bool = dataclasses.field(default=False, metadata={"help": "Rebuild the cached features."})

    def __post_init__(self) -> None:
        self.task_name = self.task_name.lower()
        if self.task_name not in glue_processors:
            raise ValueError(f"task_name={self.task_name!r} is not a GLUE task; choose one of: {', '.join(glue_processors)}.")
        if self.max_seq_length < 2:
            raise ValueError(f"max_seq_length must be at least 2 (room for [CLS] and [SEP]), got {self.max_seq_length}.")


class GlueDataset:
    """The features of one split (``mode``: train, dev or test) of a GLUE task; indexable, with ``get_labels()``."""

    def __init__(self, args: GlueDataTrainingArguments, tokenizer: Any, limit_length: int | None = None,
                 mode: str | Split = Split.train, cache_dir: str | os.PathLike | None = None):
        from filelock import FileLock

        self.args = args
        mode = Split(mode) if isinstance(mode, str) else mode
        self.processor = glue_processors[args.task_name]()
        self.output_mode = glue_output_modes[args.task_name]
        self.label_list = self.processor.get_labels()
        folder = Path(cache_dir or args.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        cache = folder / f"cached_{mode.value}_{type(tokenizer).__name__}_{args.max_seq_length}_{args.task_name}.jsonl"
        with FileLock(str(cache) + ".lock"):
            if cache.is_file() and not args.overwrite_cache:
                started = time.perf_counter()
                self.features = _read_features(cache)
                logger.info(f"Loaded {len(self.features)} cached features from {cache} in {time.perf_counter() - started:.2f} s.")
            else:
                examples = {Split.train: self.processor.get_train_examples, Split.dev: self.processor.get_dev_examples,
                            Split.test: self.processor.get_test_examples}[mode](args.data_dir)
                if limit_length is not None:
                    examples = examples[:limit_length]
                self.features = glue_convert_examples_to_features(
                    examples, tokenizer, max_length=args.max_seq_length, label_list=self.label_list,
                    output_mode=self.output_mode)
                atomic_write_text(cache, "".join(json.dumps(f.to_dict()) + "\n" for f in self.features))
                logger.info(f"Saved {len(self.features)} features to {cache}.")
        if limit_length is not None:
            self.features = self.features[:limit_length]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> InputFeatures:
        return self.features[index]

    def get_labels(self) -> list[str]:
        return self.label_list


def _read_features(path: Path) -> list[InputFeatures]:
    names = {field.name for field in dataclasses.fields(InputFeatures)}
    features = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            values = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{path}, line {number}: the feature cache is damaged; delete it (or pass "
                             "overwrite_cache=True) to rebuild it.") from None
        features.append(InputFeatures(**{key: value for key, value in values.items() if key in names}))
    return features
