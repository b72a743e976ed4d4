"""What the subcommands share: the user-error type, model folders, the summary table, JSON output.

Reading files is ``data/readers.py``, labels ``data/labels.py``, metrics ``data/metrics/``.
Importing this module loads neither torch nor tensorflow (so ``--help`` and input checks are
fast); the functions that need torch import it when called.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..constants import CONFIG_NAME, TOKENIZER_FILES, WEIGHT_FILES
from ..data.readers import DataError


class CLIError(DataError):
    """Bad input from the user on the command line: printed as one line, exit code 2.

    Data errors raised by the library (``DataError``: a bad file, column or label) end the same way.
    """


# ---------------------------------------------------------------------------------------- models


def check_model_folder(name_or_path: str, flag: str = "model") -> str:
    """Fail early, with the fix, when a local folder cannot be a model (no config.json or no weights)."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
            raise CLIError(f"{flag} {name_or_path}: no such folder. Pass the output_dir of `tuneformers train`, "
                           "or a hub id like sentence-transformers/all-MiniLM-L6-v2.")
        return name_or_path  # a hub id; resolved by from_pretrained
    if not path.is_dir():
        raise CLIError(f"{flag} {path} is a file; pass the folder that holds config.json and the weights.")
    if not (path / CONFIG_NAME).is_file():
        raise CLIError(f"{flag} {path} has no config.json, so it is not a model folder. Pass the output_dir "
                       "of `tuneformers train` (or any folder written by save_pretrained).")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise CLIError(f"{flag} {path} has no weights (looked for {', '.join(WEIGHT_FILES[:3])}); the training "
                       "that wrote it may not have finished. Re-run `tuneformers train` or point to a complete folder.")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise CLIError(f"{flag} {path} has no tokenizer files ({' or '.join(TOKENIZER_FILES)}). Copy them from the "
                       "base model's folder, or save the tokenizer there with tokenizer.save_pretrained.")
    return str(path)


def check_model_inputs(model: Any, tokenizer: Any, max_length: int, name: str) -> None:
    """Fail before training or scoring when token ids or lengths would not fit the model."""
    from ..tokenization_utils import VERY_LARGE_LENGTH

    vocab_size = getattr(model.config, "vocab_size", None)
    if vocab_size is not None and len(tokenizer) > vocab_size:
        raise CLIError(f"The tokenizer of {name} has {len(tokenizer)} tokens, but the model's vocab_size is {vocab_size}, "
                       "so some token ids have no embedding. Fix vocab_size in its config.json, or use the tokenizer "
                       "the model was trained with.")
    limits = {"max_position_embeddings in its config.json": getattr(model.config, "max_position_embeddings", None),
              "model_max_length of its tokenizer": tokenizer.model_max_length}
    limits = {source: value for source, value in limits.items() if value is not None and value < VERY_LARGE_LENGTH}
    source = min(limits, key=limits.get, default=None)
    if source is not None and max_length > limits[source]:
        raise CLIError(f"--max_length {max_length} is more than {name} can take ({limits[source]} tokens, the "
                       f"{source}); pass --max_length {limits[source]} or less.")


def check_run_arguments(args: Any) -> None:
    """Fail before reading data or loading a model when a run could not start or could not save its results."""
    check_can_create(args.output_dir, "--output_dir", folder=True)
    if args.logging_dir is not None:
        check_can_create(args.logging_dir, "--logging_dir", folder=True)
    if args.fp16:
        import torch

        if args.use_cpu or not torch.cuda.is_available():
            raise CLIError("--fp16 needs a CUDA GPU (it scales the loss with a GradScaler), and this run is on the CPU. "
                           "Use --bf16 instead, or drop --fp16.")


def check_can_create(path: str | Path, flag: str, folder: bool = False) -> None:
    """CLIError unless ``path`` can be written as a file (or made a folder): nothing in the way, no file above it."""
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise CLIError(f"{flag} {path} is a file; pass a folder (it is created when missing).")
        if not folder and path.is_dir():
            raise CLIError(f"{flag} {path} is a folder; pass a file name.")
    for parent in path.parents:  # the nearest existing one decides
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise CLIError(f"{flag} {path}: {parent} is a file, so nothing can be written under it. Pass another path.")
            target = path if path.exists() else parent
            if not os.access(target, os.W_OK):
                raise CLIError(f"{flag} {path}: {target} is not writable. Pass a path you can write to.")
            return


def load_tokenizer(name_or_path: str):
    from ..models.auto.tokenization_auto import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as error:
        raise CLIError(f"Could not load the tokenizer of {name_or_path}: {one_line(error)}") from error


def load_model(name_or_path: str, **kwargs: Any):
    from ..models.auto.modeling_auto import AutoModelForSequenceClassification

    try:
        return AutoModelForSequenceClassification.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as error:
        message = one_line(error).replace("Pass ignore_mismatched_sizes=True", "Pass --ignore_mismatched_sizes")
        raise CLIError(f"Could not load the model {name_or_path}: {message}") from error


def one_line(error: BaseException) -> str:
    """An error message whose list of problems (one per indented line) is joined into one line."""
    return " ".join(line.strip() for line in str(error).splitlines())


def choose_device(use_cpu: bool = False):
    import torch

    return torch.device("cuda" if torch.cuda.is_available() and not use_cpu else "cpu")


# ---------------------------------------------------------------------------------------- output


def format_table(rows: Sequence[tuple[str, Any]], title: str | None = None) -> str:
    """Two aligned columns, numbers to 4 significant digits."""
    cells = [(key, f"{value:.4g}" if isinstance(value, float) else str(value)) for key, value in rows]
    width = max(len(key) for key, _ in cells)
    line = "-" * (width + 2 + max(len(value) for _, value in cells))
    body = "\n".join(f"{key.ljust(width)}  {value}" for key, value in cells)
    return "\n".join(part for part in (line, title, line if title else None, body, line) if part is not None)


def write_json(path: Path, data: dict[str, Any]) -> None:
    from ..utils import atomic_write_text

    finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value
              for key, value in data.items()}
    atomic_write_text(path, json.dumps(finite, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n")

