"""When does running only the real tokens pay? Training-step time of all-MiniLM-L6-v2 (sequence classification)
on batches with a given share of padding, run padded vs unpadded; the crossover sets
``modeling_layers.UNPAD_MIN_PADDING_FRACTION``.

    python benchmarks/bench_unpad.py [--batch-size 32] [--lengths 64 128] [--repeats 5] [--bf16]

Each batch: B rows of T tokens, the last rows shortened so that the given share of positions is padding.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import minilm_dir  # noqa: E402

FRACTIONS = (0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3)


def padded_batch(batch_size: int, seq_len: int, padding_fraction: float) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, 20000, (batch_size, seq_len), generator=generator)
    mask = torch.ones(batch_size, seq_len, dtype=torch.long)
    to_remove = round(padding_fraction * batch_size * seq_len)
    row = batch_size - 1
    while to_remove > 0:  # shorten rows from the end, each at most to half its length
        cut = min(to_remove, seq_len // 2)
        mask[row, seq_len - cut:] = 0
        to_remove -= cut
        row -= 1
    return {"input_ids": input_ids.masked_fill(mask == 0, 0), "attention_mask": mask,
            "labels": torch.randint(0, 2, (batch_size,), generator=generator)}


def step_seconds(model, batch, repeats: int, bf16: bool) -> float:
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()

    from tuneformers import BertForSequenceClassification, modeling_layers

    model = BertForSequenceClassification.from_pretrained(str(minilm_dir()), num_labels=2).train()
    print(f"threads {torch.get_num_threads()}, {'bf16' if args.bf16 else 'fp32'}, batch size {args.batch_size}")
    print("| tokens | padding | padded ms | unpadded ms | unpadded speed-up |\n|---|---|---|---|---|")
    for seq_len in args.lengths:
        for fraction in FRACTIONS:
            batch = padded_batch(args.batch_size, seq_len, fraction)
            seconds = {}
            for name, threshold in (("padded", 1.01), ("unpadded", 0.0)):
                modeling_layers.UNPAD_MIN_PADDING_FRACTION = threshold
                seconds[name] = step_seconds(model, batch, args.repeats, args.bf16)
            print(f"| {seq_len} | {fraction:.0%} | {seconds['padded'] * 1000:.0f} | {seconds['unpadded'] * 1000:.0f} | "
                  f"{seconds['padded'] / seconds['unpadded']:.2f} |")


if __name__ == "__main__":
    main()
