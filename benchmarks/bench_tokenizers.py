"""Tokenizer speed: our BertTokenizerFast vs HF's, our BertTokenizer vs HF's legacy Python one.

Texts/s on the Rotten Tomatoes snippets, batch-encoded with truncation at 128 tokens, in one process.
Run: python benchmarks/bench_tokenizers.py [--slow-texts 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time


def best_rate(encode, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(texts), 1000):
            encode(texts[i:i + 1000])
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow-texts", type=int, default=2000, help="texts for the (slow) pure-Python tokenizers")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import transformers
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    from tuneformers import BertTokenizer, BertTokenizerFast
    from tuneformers.data.datasets import load_rotten_tomatoes
    from tuneformers.hub import packaged_model_dir

    folder = packaged_model_dir("sentence-transformers/all-MiniLM-L6-v2")
    texts = [example.text for example in load_rotten_tomatoes()]
    pairs = {
        "fast": (BertTokenizerFast.from_pretrained(folder), transformers.BertTokenizerFast.from_pretrained(str(folder)), texts),
        "slow": (BertTokenizer.from_pretrained(folder), BertTokenizerLegacy.from_pretrained(str(folder)), texts[: args.slow_texts]),
    }
    print(f"{len(texts)} Rotten Tomatoes snippets, truncation at 128, batches of 1000, best of {args.repeats}")
    print(f"{'tokenizer':<10}{'tuneformers':>16}{'HF':>16}{'ratio':>8}")
    for name, (ours, hf, corpus) in pairs.items():
        assert ours(corpus[:200], truncation=True, max_length=128)["input_ids"] == \
            hf(corpus[:200], truncation=True, max_length=128)["input_ids"], "tokenizers disagree"
        # Our slow tokenizer caches word pieces per word and HF's legacy one does not: a repeat over the same
        # texts would hit that cache for every word, so each repeat starts from a freshly loaded tokenizer.
        if name == "slow":
            ours_rate = max(best_rate(lambda batch, fresh=BertTokenizer.from_pretrained(folder): fresh(
                batch, truncation=True, max_length=128), corpus, 1) for _ in range(args.repeats))
        else:
            ours_rate = best_rate(lambda batch: ours(batch, truncation=True, max_length=128), corpus, args.repeats)
        hf_rate = best_rate(lambda batch: hf(batch, truncation=True, max_length=128), corpus, args.repeats)
        print(f"{name:<10}{ours_rate:>12.0f} t/s{hf_rate:>12.0f} t/s{ours_rate / hf_rate:>8.2f}")


if __name__ == "__main__":
    main()
