"""``tuneformers fill-mask``: the most likely words for the [MASK] in a text, from a masked language model."""

from __future__ import annotations

import argparse
from typing import Any

from .common import CLIError, check_model_folder, format_table


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fill-mask", parents=parents, allow_abbrev=False, help="predict the masked word of a text",
        description="Fill the mask token of each text with a masked language model (e.g. the output_dir of "
                    "`tuneformers pretrain`).",
        epilog='Example: tuneformers fill-mask outputs/my_bert "the film is a [MASK] ride."')
    parser.add_argument("model", help="model folder or hub id with a masked-LM head")
    parser.add_argument("texts", nargs="+", help="texts, each with one mask token (e.g. [MASK])")
    parser.add_argument("--top_k", type=int, default=5, help="how many candidates to show (default: 5)")
    parser.add_argument("--targets", nargs="+", default=None, help="only score these words")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        from ..pipelines import pipeline
    except ImportError:
        raise CLIError("fill-mask needs tuneformers.pipelines, which this installation lacks.") from None
    if args.top_k < 1:
        raise CLIError(f"--top_k must be a positive number, got {args.top_k}.")
    name = check_model_folder(args.model, "model")
    fill = pipeline("fill-mask", model=name, tokenizer=name)
    for text in args.texts:
        try:
            candidates = fill(text, top_k=args.top_k, targets=args.targets)
        except ValueError as error:
            raise CLIError(str(error)) from None
        print(format_table([(c["token_str"], float(c["score"])) for c in candidates], title=text))
    return 0
