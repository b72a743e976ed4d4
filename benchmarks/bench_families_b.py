"""MPNet, DeBERTa-v3 and ModernBERT: our forward pass and training step against HF transformers' on the same
dynamically padded Rotten Tomatoes batches, with a realistic-size random model (6 layers x 384) per family.

    python benchmarks/bench_families_b.py [--batches 6] [--batch_size 32]

Prints the median seconds per batch and HF / ours (above 1: we are faster). HF runs the attention it
defaults to for the family (eager for MPNet and DeBERTa-v2, which have no other; SDPA for ModernBERT).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import transformers

import tuneformers

SIZE = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, intermediate_size=1536, vocab_size=30522)
FAMILIES = {
    "mpnet": ("MPNet", dict(max_position_embeddings=514, pad_token_id=1, hidden_dropout_prob=0.1)),
    "deberta-v3": ("DebertaV2", dict(relative_attention=True, position_buckets=256, pos_att_type=["p2c", "c2p"],
                                     share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
                                     max_relative_positions=-1, pad_token_id=0, hidden_dropout_prob=0.1)),
    "modernbert": ("ModernBert", dict(intermediate_size=576, pad_token_id=0, local_attention=128,
                                      mlp_dropout=0.1)),  # GeGLU: 2 x 576 wide in, like BERT's 1536 in parameters
}


def batches(count: int, size: int) -> list[dict]:
    tokenizer = tuneformers.AutoTokenizer.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    examples = tuneformers.load_rotten_tomatoes(max_examples=count * size, seed=0)
    result = []
    for start in range(0, count * size, size):
        part = examples[start:start + size]
        encoding = tokenizer([e.text for e in part], padding=True, truncation=True, max_length=128, return_tensors="pt")
        result.append(dict(input_ids=encoding["input_ids"], attention_mask=encoding["attention_mask"],
                           labels=torch.tensor([e.label for e in part])))
    return result


def seconds(step, data) -> float:
    step(data[0])  # warm-up
    times = []
    for batch in data:
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward(model):
    def step(batch):
        with torch.no_grad():
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return step


def train_step(model):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step(batch):
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    args = parser.parse_args()
    torch.manual_seed(0)
    data = batches(args.batches, args.batch_size)
    tokens = sum(int(b["attention_mask"].sum()) for b in data) / sum(b["attention_mask"].numel() for b in data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.batches} batches of {args.batch_size}, "
          f"{tokens:.0%} real tokens")
    print(f"{'family':<12}{'what':<12}{'HF s':>8}{'ours s':>8}{'HF/ours':>9}")
    for name in args.families:
        prefix, extra = FAMILIES[name]
        hf_config = getattr(transformers, prefix + "Config")(**{**SIZE, **extra})
        hf = getattr(transformers, prefix + "ForSequenceClassification")(hf_config)
        with tempfile.TemporaryDirectory() as folder:
            hf.save_pretrained(folder)
            ours = getattr(tuneformers, prefix + "ForSequenceClassification").from_pretrained(folder)
        for what, make, mode in (("forward", forward, False), ("train step", train_step, True)):
            hf.train(mode), ours.train(mode)
            hf_s, ours_s = seconds(make(hf), data), seconds(make(ours), data)
            print(f"{name:<12}{what:<12}{hf_s:>8.3f}{ours_s:>8.3f}{hf_s / ours_s:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
