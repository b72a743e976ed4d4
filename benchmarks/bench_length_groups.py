"""What attending in length groups buys, and the cost model behind it: all-MiniLM-L6-v2 on Rotten Tomatoes pairs,
forward passes (batches of 64) and training steps (batches of 32), with the whole batch attending padded to its
longest sequence vs the sequences split into groups of similar length (``modeling_layers.attention_length_groups``),
for several values of the model's per-group cost (speed-up: one group over the default). Runs alternate
in one process.

    python benchmarks/bench_length_groups.py [--examples 256] [--repeats 3] [--pad_to_128]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import examples, load_tokenizer, minilm_dir, tokenize  # noqa: E402

ONE_GROUP = float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pad_to_128", action="store_true", help="pad every example to 128 tokens (setting a)")
    options = parser.parse_args()

    import tuneformers
    from tuneformers import modeling_layers
    from tuneformers.data.data_collator import DataCollatorWithPadding

    model_dir = minilm_dir()
    tokenizer, _ = load_tokenizer(model_dir)
    rows = tokenize(tokenizer, examples("pairs", options.examples), pad_to_128=options.pad_to_128)
    collate = DataCollatorWithPadding(tokenizer)
    model = tuneformers.AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2)
    default_cost = modeling_layers.GROUP_CALL_COST
    call_costs = (ONE_GROUP, 4096, 16384, default_cost)

    def forward(batches, bf16):
        model.eval()
        with torch.inference_mode(), autocast(bf16):
            for batch in batches:
                model(**batch)

    def train(batches, bf16):
        model.train()
        for batch in batches:
            with autocast(bf16):
                loss = model(**batch).loss
            loss.backward()
        model.zero_grad()

    def autocast(bf16):
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    print(f"all-MiniLM-L6-v2, {len(rows)} Rotten Tomatoes pairs{', padded to 128' if options.pad_to_128 else ''}, "
          f"torch threads {torch.get_num_threads()}, median of {options.repeats}; seconds per pass over the data")
    print(f"{'':16s}" + "".join(f"{'one group' if c == ONE_GROUP else f'call {c:g}':>12s}" for c in call_costs)
          + f"{'speed-up':>10s}")
    for name, run, batch_size in (("forward", forward, 64), ("train step", train, 32)):
        batches = [collate([{k: v for k, v in row.items() if name != "forward" or k != "labels"}
                            for row in rows[i:i + batch_size]]) for i in range(0, len(rows), batch_size)]
        for bf16 in (False, True):
            times: dict[float, list[float]] = {cost: [] for cost in call_costs}
            run(batches, bf16)  # warm-up
            for _ in range(options.repeats):
                for cost in call_costs:
                    modeling_layers.GROUP_CALL_COST = cost
                    start = time.perf_counter()
                    run(batches, bf16)
                    times[cost].append(time.perf_counter() - start)
            median = {cost: sorted(values)[len(values) // 2] for cost, values in times.items()}
            print(f"{name + (' bf16' if bf16 else ' fp32'):16s}" + "".join(f"{median[c]:12.2f}" for c in call_costs)
                  + f"{median[ONE_GROUP] / median[default_cost]:10.2f}", flush=True)
    lengths = [batch["attention_mask"].sum(1).tolist() for batch in batches]
    for cost in call_costs[1:]:
        modeling_layers.GROUP_CALL_COST = cost
        groups = [len(modeling_layers.attention_length_groups(batch_lengths)) for batch_lengths in lengths]
        print(f"groups per batch of {batch_size} at call cost {cost:g}: {groups}")


if __name__ == "__main__":
    main()
