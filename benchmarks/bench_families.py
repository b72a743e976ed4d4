"""Forward and training-step speed of each family's ForSequenceClassification, ours vs HF's, on the same batches.

Random weights, a realistic small size (6 layers x 384 hidden, 12 heads, 1536 intermediate, 30522 vocabulary),
the same weights in both models, real Rotten Tomatoes snippets tokenized by all-MiniLM-L6-v2's word pieces and
dynamically padded (pad id 0 for every family). Prints seconds per batch and HF / ours ratios (> 1: we are faster).
Run: python benchmarks/bench_families.py [--batches 8] [--batch-size 32] [--families roberta,distilbert]
"""

from __future__ import annotations

import argparse
import time

import torch

SIZE = dict(vocab_size=30522, max_position_embeddings=514)
BERT_LIKE = dict(SIZE, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
FAMILIES = {  # name -> (our / HF class prefix, config class name, config kwargs)
    "bert": ("Bert", "BertConfig", BERT_LIKE),
    "roberta": ("Roberta", "RobertaConfig", dict(BERT_LIKE, pad_token_id=0)),
    "distilbert": ("DistilBert", "DistilBertConfig", dict(SIZE, dim=384, n_layers=6, n_heads=12, hidden_dim=1536)),
    "electra": ("Electra", "ElectraConfig", dict(BERT_LIKE, embedding_size=128)),
}


def batches(count: int, batch_size: int) -> list[dict[str, torch.Tensor]]:
    from tuneformers import BertTokenizerFast, load_rotten_tomatoes
    from tuneformers.hub import packaged_model_dir

    tokenizer = BertTokenizerFast.from_pretrained(packaged_model_dir("sentence-transformers/all-MiniLM-L6-v2"))
    texts = [example.text for example in load_rotten_tomatoes(max_examples=count * batch_size)]
    return [dict(tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt",
                           return_token_type_ids=False))
            for i in range(0, len(texts), batch_size)]


def best_seconds_per_batch(steps, data, repeats: int) -> list[float]:
    """Each step's best time per batch; the steps take turns within every repeat, so load from other processes on
    a shared machine falls on all of them alike."""
    for step in steps:
        step(data[0])  # warm-up
    best = [float("inf")] * len(steps)
    for _ in range(repeats):
        for index, step in enumerate(steps):
            start = time.perf_counter()
            for batch in data:
                step(batch)
            best[index] = min(best[index], (time.perf_counter() - start) / len(data))
    return best


def pair(family: str):
    import transformers

    import tuneformers

    prefix, config_name, kwargs = FAMILIES[family]
    torch.manual_seed(0)
    ours = getattr(tuneformers, prefix + "ForSequenceClassification")(getattr(tuneformers, config_name)(**kwargs))
    hf = getattr(transformers, prefix + "ForSequenceClassification")(getattr(transformers, config_name)(**kwargs))
    missing, unexpected = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and all("position_ids" in key for key in missing), (missing, unexpected)
    return ours, hf


def forward_step(model):
    @torch.no_grad()
    def step(batch):
        model.eval()
        model(**batch)

    return step


def train_step(model):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    labels = torch.arange(1024) % 2

    def step(batch):
        model.train()
        model(**batch, labels=labels[: batch["input_ids"].shape[0]]).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    data = batches(args.batches, args.batch_size)
    tokens = sum(int(batch["attention_mask"].sum()) for batch in data)
    padded = sum(batch["attention_mask"].numel() for batch in data)
    print(f"{len(data)} batches of {args.batch_size}, {tokens / padded:.0%} real tokens, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'family':<11} {'fwd ours':>9} {'fwd HF':>9} {'ratio':>6} {'train ours':>11} {'train HF':>9} {'ratio':>6}")
    for family in args.families.split(","):
        ours, hf = pair(family)
        ours_fwd, hf_fwd = best_seconds_per_batch([forward_step(ours), forward_step(hf)], data, args.repeats)
        ours_train, hf_train = best_seconds_per_batch([train_step(ours), train_step(hf)], data, args.repeats)
        print(f"{family:<11} {ours_fwd:9.3f} {hf_fwd:9.3f} {hf_fwd / ours_fwd:6.2f} "
              f"{ours_train:11.3f} {hf_train:9.3f} {hf_train / ours_train:6.2f}")


if __name__ == "__main__":
    main()
