"""``tuneformers train-tokenizer``: a new WordPiece (BERT) tokenizer trained on a text file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .common import CLIError


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train-tokenizer", parents=parents, allow_abbrev=False, help="train a new WordPiece tokenizer on a text file",
        description="Train a BERT WordPiece tokenizer on a .txt (one text per line) or .jsonl file (optionally "
                    ".gz/.bz2), streamed; the folder loads with AutoTokenizer in tuneformers and Hugging Face.",
        epilog="Example: tuneformers train-tokenizer corpus.txt --vocab_size 8000 --output_dir outputs/tokenizer")
    parser.add_argument("train_file", help="text to learn the vocabulary from")
    parser.add_argument("--output_dir", required=True, help="folder to write the tokenizer to")
    parser.add_argument("--vocab_size", type=int, default=8000, help="vocabulary size (default: 8000)")
    parser.add_argument("--min_frequency", type=int, default=2, help="keep pieces seen this often (default: 2)")
    parser.add_argument("--cased", action="store_true", help="keep upper case (default: lower-case)")
    parser.add_argument("--text_column", default="text", help="field holding the text in .jsonl files (default: text)")
    parser.add_argument("--model_max_length", type=int, default=512, help="longest input the model takes (default: 512)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..data.language_modeling import read_texts
    from ..models.bert.tokenization_bert_fast import train_bert_tokenizer

    started = time.perf_counter()
    try:
        tokenizer = train_bert_tokenizer(read_texts(args.train_file, args.text_column), args.vocab_size,
                                         min_frequency=args.min_frequency, do_lower_case=not args.cased,
                                         model_max_length=args.model_max_length)
    except (FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None
    tokenizer.save_pretrained(args.output_dir)
    print(f"{Path(args.output_dir)}: {len(tokenizer)} word pieces from {args.train_file} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0
