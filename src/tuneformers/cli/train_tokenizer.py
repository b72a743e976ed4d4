"""``tuneformers train-tokenizer``: a new tokenizer trained on a text file, WordPiece (BERT) or byte-level BPE
(RoBERTa)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .common import CLIError

TOKENIZER_KINDS = {"bert": "WordPiece", "roberta": "byte-level BPE"}


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train-tokenizer", parents=parents, allow_abbrev=False,
        help="train a new WordPiece (BERT) or byte-level BPE (RoBERTa) tokenizer on a text file",
        description="Train a BERT WordPiece or RoBERTa byte-level BPE tokenizer on a .txt (one text per line) or "
                    ".jsonl file (optionally .gz/.bz2), streamed; the folder loads with AutoTokenizer in tuneformers "
                    "and Hugging Face.",
        epilog="Example: tuneformers train-tokenizer corpus.txt --vocab_size 8000 --output_dir outputs/tokenizer")
    parser.add_argument("train_file", help="text to learn the vocabulary from")
    parser.add_argument("--output_dir", required=True, help="folder to write the tokenizer to")
    parser.add_argument("--family", choices=tuple(TOKENIZER_KINDS), default="bert",
                        help="bert: WordPiece; roberta: byte-level BPE (default: bert)")
    parser.add_argument("--vocab_size", type=int, default=8000, help="vocabulary size (default: 8000)")
    parser.add_argument("--min_frequency", type=int, default=2, help="keep pieces seen this often (default: 2)")
    parser.add_argument("--cased", action="store_true", help="bert: keep upper case (default: lower-case)")
    parser.add_argument("--text_column", default="text", help="field holding the text in .jsonl files (default: text)")
    parser.add_argument("--model_max_length", type=int, default=512, help="longest input the model takes (default: 512)")
    parser.set_defaults(run=run)
    return parser


def train_new_tokenizer(family: str, texts: Iterable[str], vocab_size: int, min_frequency: int, cased: bool,
                        model_max_length: int) -> Any:
    """The tokenizer ``family`` uses, trained on ``texts``; a bad size is a CLIError naming it."""
    from ..models.bert.tokenization_bert_fast import train_bert_tokenizer
    from ..models.roberta.tokenization_roberta import train_roberta_tokenizer

    try:
        if family == "roberta":  # bytes keep their case
            return train_roberta_tokenizer(texts, vocab_size, min_frequency=min_frequency,
                                           model_max_length=model_max_length)
        return train_bert_tokenizer(texts, vocab_size, min_frequency=min_frequency, do_lower_case=not cased,
                                    model_max_length=model_max_length)
    except (FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from ..data.language_modeling import read_texts

    started = time.perf_counter()
    tokenizer = train_new_tokenizer(args.family, read_texts(args.train_file, args.text_column), args.vocab_size,
                                    args.min_frequency, args.cased, args.model_max_length)
    tokenizer.save_pretrained(args.output_dir)
    print(f"{Path(args.output_dir)}: {len(tokenizer)} {TOKENIZER_KINDS[args.family]} pieces from {args.train_file} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0
