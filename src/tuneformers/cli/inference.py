"""A fine-tuned model folder ready to score batches of texts (shared by ``evaluate`` and ``predict``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.labels import LabelSpec
from .common import check_model_folder, check_model_inputs, choose_device, load_model, load_tokenizer


DEFAULT_MAX_LENGTH = 128


def resolve_max_length(args: argparse.Namespace) -> None:
    """``args.max_length`` when given, else the ``max_length`` a `tuneformers train` run wrote into the model
    folder's metrics.json, else DEFAULT_MAX_LENGTH."""
    if args.max_length is not None:
        return
    metrics_file = Path(args.model_dir) / "metrics.json"
    trained = None
    if metrics_file.is_file():
        try:
            trained = json.loads(metrics_file.read_text(encoding="utf-8")).get("max_length")
        except (ValueError, AttributeError):
            trained = None  # not our metrics file: the default
    args.max_length = trained if isinstance(trained, int) and trained > 0 else DEFAULT_MAX_LENGTH


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="folder written by `tuneformers train` (or any sequence-classification model)")
    parser.add_argument("file", help="a .csv, .tsv or .jsonl file (.gz/.bz2 ok)")
    parser.add_argument("--text_column", default="text", help="column with the text (default: text)")
    parser.add_argument("--text_pair_column", default=None, help="column with the second text of a pair")
    parser.add_argument("--max_length", type=int, default=None,
                        help="truncate inputs to this many tokens (default: the length the model was trained with, "
                             f"from its folder's metrics.json, else {DEFAULT_MAX_LENGTH})")
    parser.add_argument("--batch_size", type=int, default=64, help="examples per forward pass (default: 64)")
    parser.add_argument("--use_cpu", action="store_true", help="run on the CPU even when a GPU is available")
    parser.add_argument("--disable_tqdm", action="store_true", help="no progress bar")


class Scorer:
    """Tokenize, pad and run a batch through the model; logits come back as float32 numpy."""

    def __init__(self, model_dir: str, max_length: int, use_cpu: bool = False):
        import torch

        from ..data.data_collator import DataCollatorWithPadding

        self.torch = torch
        folder = check_model_folder(model_dir, "model_dir")
        self.tokenizer = load_tokenizer(folder)
        self.device = choose_device(use_cpu)
        self.model = load_model(folder).to(self.device).eval()
        check_model_inputs(self.model, self.tokenizer, max_length, folder)
        self.spec = LabelSpec.from_config(self.model.config)
        self.collator = DataCollatorWithPadding(self.tokenizer)
        self.max_length = max_length

    def logits(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> np.ndarray:
        return self.logits_and_loss(texts, pairs)[0]

    def logits_and_loss(self, texts: Sequence[str], pairs: Sequence[str] | None = None,
                        labels: Sequence[Any] | None = None) -> tuple[np.ndarray, float | None]:
        """Logits, and with ``labels`` the model's own mean training loss over the batch."""
        from ..data.torch_dataset import FeaturesDataset

        encoding = self.tokenizer(list(texts), text_pair=list(pairs) if pairs is not None else None,
                                  truncation=True, max_length=self.max_length)
        batch = self.collator(FeaturesDataset(encoding, labels=labels).rows)
        batch = {key: value.to(self.device) for key, value in batch.items()}
        with self.torch.inference_mode():
            output = self.model(**batch)
        loss = float(output.loss) if output.loss is not None else None
        return output.logits.float().cpu().numpy(), loss

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
