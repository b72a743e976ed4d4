"""``tuneformers pretrain``: masked-language-model training on unlabelled text, from scratch or continued.

* ``--model NAME_OR_DIR`` continues pretraining that checkpoint on your text (domain adaptation; a
  checkpoint without a masked-LM head, such as all-MiniLM-L6-v2, gets a new one).
* ``--config_name bert|roberta --vocab_size N`` starts from scratch: a tokenizer is trained on the
  training file first (WordPiece for BERT, byte-level BPE for RoBERTa), then a new model of the size the
  flags give.
* Without ``--train_file``: continued pretraining of all-MiniLM-L6-v2 on the packaged Rotten Tomatoes
  review snippets.

Text is read from .txt (one text per line) or .jsonl files, optionally .gz / .bz2, and tokenized once
into a cache in ``<output_dir>/lm_cache``, so a corpus larger than memory works. The run folder gets
the model and tokenizer, metrics.json (held-out loss, perplexity and top-k accuracy before and after),
trainer_state.json and training_plot.png. ``--config FILE`` reads flag values from JSON or YAML, as in
``tuneformers train``.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from pathlib import Path
from typing import Any

from ..trainer.training_args import TrainingArguments
from ..typed_dataclass import add_dataclass_arguments
from .common import CLIError, check_run_arguments, format_table, write_json
from ..constants import METRICS_NAME, PLOT_NAME
from .train import set_defaults, training_arguments
from .train_tokenizer import TOKENIZER_KINDS

PACKAGED_DATA = "rotten_tomatoes"
# The packaged default stays a few CPU-minutes: a slice of the snippets, short blocks.
PACKAGED_SAMPLES = (4000, 500)

PRETRAIN_DEFAULTS: dict[str, Any] = {
    "output_dir": None,
    "num_train_epochs": None,  # resolved by START_DEFAULTS
    "per_device_train_batch_size": None,  # resolved by START_DEFAULTS
    "per_device_eval_batch_size": 64,
    "learning_rate": None,  # resolved by START_DEFAULTS
    "weight_decay": 0.01,
    "warmup_ratio": 0.06,
    "logging_steps": 10,
    "logging_first_step": True,
    "eval_strategy": "steps",
    "eval_steps": None,  # resolved by START_DEFAULTS
    "save_strategy": "no",
}

# A checkpoint only needs nudging towards your text (1e-4, one pass, BERT's 15% masking). A new small model
# starts from random weights: 1e-3, several passes over a few MB, and, since what limits it is the number of
# updates and predictions rather than the text seen, small batches and 30% masking (Wettig et al. 2022); it
# is evaluated less often, as its steps are many. benchmarks/bench_pretraining.py scratch measures this.
START_DEFAULTS: dict[str, dict[str, float]] = {
    "continued": {"learning_rate": 1e-4, "num_train_epochs": 1.0, "per_device_train_batch_size": 32,
                  "mlm_probability": 0.15, "eval_steps": 50},
    "scratch": {"learning_rate": 1e-3, "num_train_epochs": 5.0, "per_device_train_batch_size": 8,
                "mlm_probability": 0.3, "eval_steps": 500},
}


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "pretrain", parents=parents, allow_abbrev=False,
        help="train a masked language model on unlabelled text (from scratch, or continue a checkpoint)",
        description="Masked-language-model training on a text file: continue pretraining a checkpoint on your "
                    "domain's text, or train a new tokenizer and a new BERT or RoBERTa from scratch. Every "
                    "TrainingArguments field is a flag.",
        epilog="Examples: tuneformers pretrain --train_file corpus.txt --config_name bert --vocab_size 8000 "
               "--output_dir outputs/my_bert ; tuneformers pretrain --train_file reviews.txt.gz "
               "--model sentence-transformers/all-MiniLM-L6-v2 --output_dir outputs/adapted")
    group = parser.add_argument_group("Model and data")
    group.add_argument("--model_name_or_path", "--model", default=None, metavar="NAME_OR_DIR",
                       help="Checkpoint to continue pretraining (default without --config_name: "
                            "sentence-transformers/all-MiniLM-L6-v2).")
    group.add_argument("--config_name", choices=tuple(TOKENIZER_KINDS), default=None,
                       help="Train a new model of this family from scratch, with a tokenizer trained on --train_file.")
    group.add_argument("--train_file", default=None,
                       help="Text to train on: .txt (one text per line) or .jsonl, optionally .gz/.bz2 "
                            "(default: the packaged Rotten Tomatoes snippets).")
    group.add_argument("--validation_file", default=None, help="Held-out text in the same format "
                                                               "(default: --validation_fraction of --train_file).")
    group.add_argument("--validation_fraction", type=float, default=0.05,
                       help="Share of the blocks (or lines) held out when no --validation_file is given (default: 0.05).")
    group.add_argument("--text_column", default="text", help="Field holding the text in .jsonl files (default: text).")
    group.add_argument("--line_by_line", action="store_true",
                       help="One example per line (truncated to --block_size) instead of packing the text into "
                            "full blocks.")
    group.add_argument("--block_size", type=int, default=128, help="Tokens per example (default: 128).")
    group.add_argument("--mlm_probability", type=float, default=None, help="Share of tokens to predict (default: 0.15)")
    group.add_argument("--whole_word_mask", action="store_true", help="Mask whole words instead of single word pieces.")
    group.add_argument("--max_train_samples", type=int, default=None, help="Use at most this many training blocks.")
    group.add_argument("--max_eval_samples", type=int, default=None, help="Use at most this many held-out blocks.")
    group.add_argument("--config", default=None, metavar="FILE",
                       help="JSON or YAML file of flag values (names without --); flags given explicitly win.")
    group.add_argument("--no_plot", action="store_true", help=f"Do not write {PLOT_NAME}.")
    scratch = parser.add_argument_group(
        "From scratch (with --config_name)",
        "The defaults (a 4-layer BERT of hidden size 128 without dropout, 5,000 pieces, learning rate 1e-3, batches "
        "of 8, 30% masking, 5 epochs) are sized for a few MB of text on a CPU: minutes per pass. With more text, "
        "time or a GPU, raise the sizes.")
    scratch.add_argument("--vocab_size", type=int, default=5000, help="Tokenizer vocabulary size (default: 5000).")
    scratch.add_argument("--min_frequency", type=int, default=2, help="Keep pieces seen this often (default: 2).")
    scratch.add_argument("--cased", action="store_true",
                         help="BERT: keep upper case (default: lower-case the text). RoBERTa's bytes are always cased.")
    scratch.add_argument("--hidden_size", type=int, default=128, help="Hidden size (default: 128).")
    scratch.add_argument("--num_hidden_layers", type=int, default=4, help="Layers (default: 4).")
    scratch.add_argument("--num_attention_heads", type=int, default=4, help="Attention heads (default: 4).")
    scratch.add_argument("--intermediate_size", type=int, default=512, help="Feed-forward size (default: 512).")
    scratch.add_argument("--dropout", type=float, default=0.0,
                         help="Dropout on hidden states and attention (default: 0: a small model on a few MB of text "
                              "underfits rather than overfits; BERT's own is 0.1).")
    add_dataclass_arguments(parser, TrainingArguments)
    set_defaults(parser, PRETRAIN_DEFAULTS)
    for action in parser._actions:
        if action.dest in START_DEFAULTS["scratch"]:
            continued, scratch = START_DEFAULTS["continued"][action.dest], START_DEFAULTS["scratch"][action.dest]
            action.help = re.sub(r"\(default: .*\)$", f"(default: {continued:g} continuing a checkpoint, "
                                 f"{scratch:g} from scratch)", action.help)
    parser.set_defaults(run=run, command_parser=parser)
    return parser


# ---------------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    apply_start_defaults(args)
    check_flags(args)
    if args.output_dir is None:
        args.output_dir = str(Path("outputs") / f"pretrain_{data_name(args)}")
    training_args = training_arguments(args)
    check_run_arguments(training_args)
    output_dir = Path(training_args.output_dir)
    cache_dir = output_dir / "lm_cache"

    from ..trainer.utils import set_seed

    set_seed(training_args.seed)
    # Under torchrun, rank 0 writes the text and trains the tokenizer; the other processes then read them.
    with training_args.main_process_first(local=False, desc="preparing the text and the tokenizer"):
        train_file = Path(args.train_file) if args.train_file else write_packaged_text(cache_dir)
        if not args.config_name:
            tokenizer = load_tokenizer(model_name(args))
        elif training_args.process_index == 0:
            tokenizer = new_tokenizer(args, train_file)
            tokenizer.save_pretrained(cache_dir / "new_tokenizer")
        else:
            tokenizer = load_tokenizer(str(cache_dir / "new_tokenizer"))
    train_set, eval_set = build_datasets(args, tokenizer, train_file, cache_dir)
    if eval_set is None:
        training_args.eval_strategy = "no"
    print(f"tuneformers pretrain: {describe_start(args, tokenizer)} on {train_file.name}: {len(train_set)} training / "
          f"{len(eval_set) if eval_set is not None else 0} held-out blocks of up to {args.block_size} tokens",
          flush=True)
    model = new_model(args, tokenizer) if args.config_name else load_masked_lm(model_name(args))
    trainer = make_trainer(model, training_args, tokenizer, train_set, eval_set, args)
    before = {f"{key}_before": value for key, value in trainer.evaluate().items() if _is_score(key)} if eval_set else {}
    start_logs = list(trainer.state.log_history)  # train() starts a new state; keep step 0 for the curve
    try:
        result = trainer.train()
    except (FileExistsError, FileNotFoundError) as error:
        raise CLIError(str(error)) from None
    trainer.state.log_history[:0] = start_logs
    after = final_evaluation(trainer) if eval_set is not None else {}
    trainer.save_model(str(output_dir))  # every process: a sharded model is gathered from all
    if not trainer.is_world_process_zero():
        return 0
    trainer.state.save_to_json(output_dir / "trainer_state.json")
    metrics = {**result.metrics, **before, **after, "num_train_blocks": len(train_set),
               "num_eval_blocks": len(eval_set) if eval_set is not None else 0, "vocab_size": len(tokenizer)}
    write_json(output_dir / METRICS_NAME, metrics)
    plot = None
    if not args.no_plot:
        from .plot import plot_training

        plot = plot_training(trainer.state.log_history, output_dir / PLOT_NAME, title=f"pretrain on {train_file.name}")
    print(summary(metrics, output_dir, plot, time.perf_counter() - started))
    return 0


def apply_start_defaults(args: argparse.Namespace) -> None:
    """Fill the flags left unset (on the command line and in --config) with the from-scratch or continued default."""
    for flag, value in START_DEFAULTS["scratch" if args.config_name else "continued"].items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)


def check_flags(args: argparse.Namespace) -> None:
    if args.config_name and args.model_name_or_path:
        raise CLIError("Pass --model to continue pretraining a checkpoint, or --config_name to start from scratch, "
                       "not both.")
    if args.config_name and not args.train_file:
        raise CLIError("--config_name trains a tokenizer and a model from scratch, which needs your text: pass "
                       "--train_file (a .txt or .jsonl file).")
    if args.validation_file and not args.train_file:
        raise CLIError("--validation_file needs --train_file.")
    for flag in ("block_size", "vocab_size", "max_train_samples", "max_eval_samples"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise CLIError(f"--{flag} must be a positive number, got {value}.")
    if not 0.0 < args.mlm_probability < 1.0:
        raise CLIError(f"--mlm_probability must be between 0 and 1, got {args.mlm_probability}.")
    if not 0.0 <= args.dropout < 1.0:
        raise CLIError(f"--dropout must be at least 0 and below 1, got {args.dropout}.")
    for flag in ("train_file", "validation_file"):
        value = getattr(args, flag)
        if value and not Path(value).is_file():
            raise CLIError(f"--{flag} {value}: no such file. Check the path.")


def data_name(args: argparse.Namespace) -> str:
    return Path(args.train_file).name.split(".")[0] if args.train_file else PACKAGED_DATA


def model_name(args: argparse.Namespace) -> str:
    from ..hub import DEFAULT_MODEL
    from .common import check_model_folder

    return check_model_folder(args.model_name_or_path or DEFAULT_MODEL, "--model_name_or_path")


def describe_start(args: argparse.Namespace, tokenizer: Any) -> str:
    if args.config_name:
        return (f"new {args.config_name} ({args.num_hidden_layers} layers, hidden {args.hidden_size}, "
                f"vocabulary {len(tokenizer)})")
    return f"continued pretraining of {model_name(args)}"


# ---------------------------------------------------------------------------------------------- data


def write_packaged_text(folder: Path) -> Path:
    """The packaged review snippets, one per line, as a text file to stream (written once). The snippets that
    `tuneformers train` holds out for its accuracy are left out, so an adapted model never saw them."""
    from ..data.datasets import load_rotten_tomatoes
    from ..utils import atomic_write_text
    from .train import DEFAULT_SAMPLES

    path = folder / f"{PACKAGED_DATA}.txt"
    if not path.is_file():
        classifier_held_out = DEFAULT_SAMPLES[PACKAGED_DATA][1]
        try:
            examples = load_rotten_tomatoes()[classifier_held_out : classifier_held_out + sum(PACKAGED_SAMPLES)]
        except (ImportError, FileNotFoundError) as error:
            raise CLIError(str(error)) from None
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, "".join(" ".join(example.text.split()) + "\n" for example in examples))
    return path


def build_datasets(args: argparse.Namespace, tokenizer: Any, train_file: Path, cache_dir: Path) -> tuple[Any, Any]:
    from ..data.language_modeling import LineByLineTextDataset, TextDataset

    kind = LineByLineTextDataset if args.line_by_line or not args.train_file else TextDataset
    try:
        train = kind(tokenizer, train_file, args.block_size, cache_dir=cache_dir, text_column=args.text_column)
        if args.validation_file:
            held_out = kind(tokenizer, args.validation_file, args.block_size, cache_dir=cache_dir,
                            text_column=args.text_column)
        elif not args.train_file:  # the packaged snippets: the held-out ones come first, as in `train`
            held_out, train = train.select(range(PACKAGED_SAMPLES[1])), train.select(range(PACKAGED_SAMPLES[1], len(train)))
        elif args.validation_fraction > 0:
            train, held_out = train.train_validation_split(args.validation_fraction)
        else:
            held_out = None
    except (FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None
    if args.max_train_samples:
        train = train.select(range(min(args.max_train_samples, len(train))))
    if held_out is not None and args.max_eval_samples:
        held_out = held_out.select(range(min(args.max_eval_samples, len(held_out))))
    if len(train) == 0:
        raise CLIError(f"{train_file} gives no training block of {args.block_size} tokens; use more text, a smaller "
                       "--block_size, or --line_by_line.")
    return train, held_out


# -------------------------------------------------------------------------------- tokenizer and model


def new_tokenizer(args: argparse.Namespace, train_file: Path) -> Any:
    from ..data.language_modeling import read_texts
    from .train_tokenizer import train_new_tokenizer

    started = time.perf_counter()
    tokenizer = train_new_tokenizer(args.config_name, read_texts(train_file, args.text_column), args.vocab_size,
                                    args.min_frequency, args.cased, args.block_size)
    print(f"tuneformers pretrain: trained a {len(tokenizer)}-piece {TOKENIZER_KINDS[args.config_name]} tokenizer on "
          f"{train_file.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return tokenizer


def load_tokenizer(name: str) -> Any:
    from .common import load_tokenizer as load

    return load(name)


def new_model(args: argparse.Namespace, tokenizer: Any) -> Any:
    from ..models.auto.modeling_auto import AutoModelForMaskedLM
    from ..models.bert.configuration_bert import BertConfig
    from ..models.roberta.configuration_roberta import RobertaConfig

    if args.hidden_size % args.num_attention_heads:
        raise CLIError(f"--hidden_size {args.hidden_size} must be a multiple of --num_attention_heads "
                       f"{args.num_attention_heads}.")
    size = dict(vocab_size=len(tokenizer), hidden_size=args.hidden_size, num_hidden_layers=args.num_hidden_layers,
                num_attention_heads=args.num_attention_heads, intermediate_size=args.intermediate_size,
                hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout,
                pad_token_id=tokenizer.pad_token_id)
    if args.config_name == "roberta":  # positions start after the padding id, as in RoBERTa's 514
        config = RobertaConfig(**size, max_position_embeddings=max(512, args.block_size) + tokenizer.pad_token_id + 1,
                               type_vocab_size=1, bos_token_id=tokenizer.bos_token_id,
                               eos_token_id=tokenizer.eos_token_id)
    else:
        config = BertConfig(**size, max_position_embeddings=max(512, args.block_size))
    return AutoModelForMaskedLM.from_config(config)


def load_masked_lm(name: str) -> Any:
    from ..models.auto.modeling_auto import AutoModelForMaskedLM

    try:
        return AutoModelForMaskedLM.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise CLIError(f"Could not load {name} as a masked language model: {error}") from error


def make_trainer(model: Any, training_args: Any, tokenizer: Any, train_set: Any, eval_set: Any,
                 args: argparse.Namespace) -> Any:
    from ..data.data_collator import DataCollatorForLanguageModeling, DataCollatorForWholeWordMask
    from ..trainer.mlm_metrics import compute_mlm_metrics, mlm_logits_for_metrics
    from ..trainer.trainer import Trainer

    collator_class = DataCollatorForWholeWordMask if args.whole_word_mask else DataCollatorForLanguageModeling
    collator = collator_class(tokenizer, mlm_probability=args.mlm_probability)
    return Trainer(model=model, args=training_args, data_collator=collator, train_dataset=train_set,
                   eval_dataset=eval_set, tokenizer=tokenizer, compute_metrics=compute_mlm_metrics,
                   preprocess_logits_for_metrics=mlm_logits_for_metrics)


# ------------------------------------------------------------------------------------------- results


def _is_score(key: str) -> bool:
    return key.startswith("eval_") and not key.endswith(("_runtime", "_per_second"))


def final_evaluation(trainer: Any) -> dict[str, float]:
    history = trainer.state.log_history
    last = next((logs for logs in reversed(history) if "eval_loss" in logs), None)
    if last is not None and last.get("step") == trainer.state.global_step:
        return {key: value for key, value in last.items() if key.startswith("eval_")}
    return trainer.evaluate()


def summary(metrics: dict[str, Any], output_dir: Path, plot: Path | None, seconds: float) -> str:
    rows: list[tuple[str, Any]] = [("train loss", metrics.get("train_loss", math.nan))]
    for key in ("eval_loss", "eval_perplexity", "eval_accuracy", "eval_top5_accuracy"):
        if key in metrics:
            name = key.replace("eval_", "held-out ").replace("_", " ")
            if f"{key}_before" in metrics:
                rows.append((f"{name} before", metrics[f"{key}_before"]))
            rows.append((name, metrics[key]))
    rows += [("wall time", f"{seconds:.0f} s (training {metrics['train_runtime']:.0f} s)"),
             ("model folder", str(output_dir)), ("metrics", str(output_dir / METRICS_NAME))]
    if plot is not None:
        rows.append(("plot", str(plot)))
    return format_table(rows, title="tuneformers pretrain: summary")
