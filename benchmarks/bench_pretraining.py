"""Language-model pretraining, tried as a user would, with figures: from scratch, and continued.

    python benchmarks/bench_pretraining.py scratch      # new tokenizer + small BERT on Wikipedia text
    python benchmarks/bench_pretraining.py scratch --family roberta   # byte-level BPE + small RoBERTa
    python benchmarks/bench_pretraining.py continued    # all-MiniLM-L6-v2 adapted to review text, then a classifier

scratch: the English Wikipedia sample that gensim ships for its tests (gensim==4.4.0, installed with
--no-deps) is stripped of wiki markup into 2.5 MB of paragraphs, 5% held out. ``tuneformers pretrain
--config_name bert`` with its from-scratch defaults (a 5,000-piece WordPiece tokenizer, a 4-layer BERT of
hidden 128 without dropout, batches of 8, 30% masking, 5 epochs) and 64-token blocks trains on it.
Reported: held-out perplexity before / after, and that of the training text's unigram frequencies (what a
model reaches that ignores the context); top-1 / top-5 accuracy on 500 cloze sentences (held-out sentences with one single-piece word
masked), for any word and for words outside the 100 most frequent pieces, each against chance
(5 / vocabulary) and against always guessing that pool's 5 most frequent words; and the largest logit
difference when HF transformers loads the output folder. ``--evaluate_only`` re-evaluates the model
a previous run left in the work folder.

continued: Rotten Tomatoes snippets, without the 1,000 that ``tuneformers train`` holds out.
``tuneformers pretrain --model all-MiniLM-L6-v2`` (which has no masked-LM head: a new one is trained)
on them; a head-only run (encoder frozen, same steps) separates learning the head from adapting the
encoder. Then ``tuneformers train`` fine-tunes a classifier from the original and from the adapted
checkpoint (same data, seed, steps) and reports held-out accuracy of both.

Held-out perplexities here are recomputed with a fixed-seed mask (the same masked positions for
every model), so before / after / head-only compare like for like.
"""

from __future__ import annotations

import argparse
import bz2
import html
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
BLOCK = 64  # cloze sentences fit; everything else is the command's from-scratch default
SKIP_MOST_FREQUENT = 100
WIKI = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def run_cli(*args: str) -> None:
    command = [sys.executable, "-m", "tuneformers", *args]
    print("$ tuneformers", " ".join(args), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"({time.perf_counter() - started:.0f} s)", flush=True)


# ------------------------------------------------------------------------------------ wikipedia text


def wiki_paragraphs() -> list[str]:
    """Plain-text paragraphs (>= 25 words) of the Wikipedia sample: templates, refs, tables and links removed."""
    spec = importlib.util.find_spec("gensim")
    xml = bz2.open(Path(next(iter(spec.submodule_search_locations))) / WIKI, "rt", encoding="utf-8").read()
    paragraphs = []
    for page in re.findall(r"<text[^>]*>(.*?)</text>", xml, flags=re.S):
        text = html.unescape(page)
        text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
        text = re.sub(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", " ", text, flags=re.S)
        for _ in range(4):  # nested templates and tables, innermost first
            text = re.sub(r"\{\{[^{}]*\}\}|\{\|[^{}]*?\|\}", " ", text, flags=re.S)
        text = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", " ", text)
        text = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", text)
        text = re.sub(r"\[https?://[^ \]]* ?([^\]]*)\]", r"\1", text)
        text = re.sub(r"<[^>]+>|'{2,}", "", text)
        for line in text.split("\n"):
            line = " ".join(line.split())
            if len(line.split()) >= 25 and not line.startswith(("*", "|", "!", "=", "{", "#", ":", ";")):
                paragraphs.append(line)
    return paragraphs


def word_piece(tokenizer, word: str) -> str | None:
    """The one token a word is mid-sentence (BERT: lower-cased; RoBERTa: with its space, "Ġword"), or None."""
    pieces = tokenizer.tokenize(" " + word)
    return pieces[0] if len(pieces) == 1 else None


def cloze_items(paragraphs: list[str], tokenizer, count: int, skip: set[int], seed: int = 0) -> list[tuple[str, str]]:
    """(sentence with one word replaced by the mask, the word's token): alphabetic words of one piece, not in
    ``skip`` (the most frequent pieces, so that 'the' and 'of' do not make the test easy)."""
    rng = random.Random(seed)
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if 8 <= len(s.split()) <= 40]
    rng.shuffle(sentences)
    items = []
    for sentence in sentences:
        words = sentence.split()
        candidates = [i for i, w in enumerate(words[1:], 1) if w.isalpha() and word_piece(tokenizer, w) is not None
                      and tokenizer.convert_tokens_to_ids(word_piece(tokenizer, w)) not in skip]
        if candidates:
            i = rng.choice(candidates)
            items.append((" ".join(words[:i] + [tokenizer.mask_token] + words[i + 1:]), word_piece(tokenizer, words[i])))
        if len(items) == count:
            break
    return items


def cloze_accuracy(model, tokenizer, items) -> tuple[float, float]:
    """Top-1 and top-5 accuracy of the true word at the mask, from the MLM logits."""
    hits1 = hits5 = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(items), 64):
            batch = items[start : start + 64]
            encoding = tokenizer([text for text, _ in batch], padding=True, truncation=True, max_length=128,
                                 return_tensors="pt")
            logits = model(**encoding).logits
            for row, (_, piece) in enumerate(batch):
                position = (encoding["input_ids"][row] == tokenizer.mask_token_id).nonzero()[0, 0]
                top = logits[row, position].topk(5).indices.tolist()
                target = tokenizer.convert_tokens_to_ids(piece)
                hits1 += top[0] == target
                hits5 += target in top
    return hits1 / len(items), hits5 / len(items)


def fixed_mask_perplexity(model, tokenizer, dataset, limit: int = 400, seed: int = 0) -> float:
    """Held-out perplexity with the same masked positions for every model (a fixed-seed collator)."""
    from tuneformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, seed=seed)
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, min(limit, len(dataset)), 32):
            batch = collator([dataset[i] for i in range(start, min(start + 32, limit, len(dataset)))])
            loss = model(**batch).loss
            n = int((batch["labels"] != -100).sum())
            total, count = total + loss.item() * n, count + n
    return math.exp(total / count)


# -------------------------------------------------------------------------------------------- scratch


def scratch(work: Path, max_steps: int, family: str, learning_rate: float, evaluate_only: bool) -> dict:
    paragraphs = wiki_paragraphs()
    random.Random(0).shuffle(paragraphs)
    held = len(paragraphs) // 20
    work.mkdir(parents=True, exist_ok=True)
    (work / "valid.txt").write_text("\n".join(paragraphs[:held]) + "\n")
    (work / "train.txt").write_text("\n".join(paragraphs[held:]) + "\n")
    sizes = {name: (work / name).stat().st_size for name in ("train.txt", "valid.txt")}
    print(f"Wikipedia text: {len(paragraphs)} paragraphs, train {sizes['train.txt'] / 1e6:.2f} MB, "
          f"held out {sizes['valid.txt'] / 1e6:.2f} MB", flush=True)
    out = work / "model"
    if not evaluate_only:
        length = ["--max_steps", str(max_steps)] if max_steps else []
        rate = ["--learning_rate", str(learning_rate)] if learning_rate else []
        run_cli("pretrain", "--train_file", str(work / "train.txt"), "--validation_file", str(work / "valid.txt"),
                "--config_name", family, "--block_size", str(BLOCK), *length, *rate, "--max_eval_samples", "200",
                "--logging_steps", "50", "--output_dir", str(out), "--overwrite_output_dir", "--report_to", "none",
                "--disable_tqdm")
    return {"family": family, "train_mb": sizes["train.txt"] / 1e6, **evaluate_scratch(work, out, paragraphs[:held])}


def evaluate_scratch(work: Path, out: Path, held_out_paragraphs: list[str]) -> dict:
    """Perplexity before / after and cloze accuracy of the model in ``out``, with their baselines."""
    from tuneformers import AutoModelForMaskedLM, AutoTokenizer, TextDataset

    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForMaskedLM.from_pretrained(out)
    valid = TextDataset(tokenizer, work / "valid.txt", BLOCK, cache_dir=work / "cache")
    torch.manual_seed(0)
    fresh = AutoModelForMaskedLM.from_config(model.config)
    train = TextDataset(tokenizer, work / "train.txt", BLOCK, cache_dir=work / "cache")
    train_ids = np.concatenate([np.asarray(train[i]["input_ids"]) for i in range(len(train))])
    counts = np.bincount(train_ids, minlength=len(tokenizer))
    counts[tokenizer.all_special_ids] = 0
    valid_ids = np.concatenate([np.asarray(valid[i]["input_ids"]) for i in range(len(valid))])
    valid_ids = valid_ids[counts[valid_ids] > 0]  # specials (and pieces never seen in training) left out
    unigram = (counts + 0.5) / (counts + 0.5).sum()
    ranked = np.argsort(-counts).tolist()
    alphabetic = [i for i in ranked if tokenizer.convert_ids_to_tokens(i).lstrip("Ġ").isalpha()]
    frequent = set(ranked[:SKIP_MOST_FREQUENT])
    result = {
        "vocab_size": len(tokenizer), "steps": json.loads((out / "trainer_state.json").read_text())["global_step"],
        "perplexity_untrained": fixed_mask_perplexity(fresh, tokenizer, valid),
        "perplexity_trained": fixed_mask_perplexity(model, tokenizer, valid),
        "perplexity_unigram": float(np.exp(-np.log(unigram[valid_ids]).mean())),
    }
    pools = {"any_word": (set(), alphabetic[:5]),
             "rarer_word": (frequent, [i for i in alphabetic if i not in frequent][:5])}
    for pool, (skip, five_most_frequent) in pools.items():
        items = cloze_items(held_out_paragraphs, tokenizer, 500, skip=skip)
        top1, top5 = cloze_accuracy(model, tokenizer, items)
        guess = np.mean([tokenizer.convert_tokens_to_ids(piece) in five_most_frequent for _, piece in items])
        result[f"cloze_{pool}"] = {"items": len(items), "top1": top1, "top5": top5, "top5_chance": 5 / len(tokenizer),
                                   "top5_guessing_five_most_frequent": float(guess),
                                   "five_most_frequent": tokenizer.convert_ids_to_tokens(five_most_frequent)}
    result["cli_metrics"] = json.loads((out / "metrics.json").read_text())
    result["hf_max_abs_logit_diff"] = hf_parity(out, [text for text, _ in items[:16]])
    return result


def hf_parity(folder: Path, texts: list[str]) -> float:
    import transformers

    from tuneformers import AutoModelForMaskedLM, AutoTokenizer

    ours_tok, hf_tok = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(str(folder))
    ours = ours_tok(texts, padding=True, return_tensors="pt")
    theirs = hf_tok(texts, padding=True, return_tensors="pt")
    assert torch.equal(ours["input_ids"], theirs["input_ids"]), "tokenizers disagree"
    with torch.no_grad():
        a = AutoModelForMaskedLM.from_pretrained(folder).eval()(**ours).logits
        b = transformers.AutoModelForMaskedLM.from_pretrained(str(folder)).eval()(**theirs).logits
    mask = ours["attention_mask"].bool()
    return float((a - b).abs()[mask].max())


# ------------------------------------------------------------------------------------------ continued


def continued(work: Path, max_steps: int, train_samples: int, classifier_epochs: float) -> dict:
    from tuneformers import AutoModelForMaskedLM, AutoTokenizer, LineByLineTextDataset, load_rotten_tomatoes

    work.mkdir(parents=True, exist_ok=True)
    texts = [" ".join(e.text.split()) for e in load_rotten_tomatoes()[1000:]]  # `train` holds out the first 1000
    (work / "valid.txt").write_text("\n".join(texts[:500]) + "\n")
    (work / "train.txt").write_text("\n".join(texts[500:]) + "\n")
    print(f"review text: {len(texts) - 500} snippets to adapt on, 500 held out", flush=True)
    adapted = work / "adapted"
    common = ["--line_by_line", "--block_size", "64", "--max_steps", str(max_steps), "--learning_rate", "1e-4",
              "--per_device_train_batch_size", "16", "--max_eval_samples", "200", "--eval_steps", str(max(max_steps // 4, 1)),
              "--logging_steps", "10", "--overwrite_output_dir", "--report_to", "none", "--disable_tqdm"]
    run_cli("pretrain", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--train_file", str(work / "train.txt"),
            "--validation_file", str(work / "valid.txt"), "--output_dir", str(adapted), *common)
    tokenizer = AutoTokenizer.from_pretrained(adapted)
    valid = LineByLineTextDataset(tokenizer, work / "valid.txt", 64, cache_dir=work / "cache")
    original = AutoModelForMaskedLM.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    result = {"mlm_steps": max_steps,
              "perplexity_original_new_head": fixed_mask_perplexity(original, tokenizer, valid),
              "perplexity_head_only": head_only_perplexity(work, tokenizer, max_steps, valid),
              "perplexity_adapted": fixed_mask_perplexity(AutoModelForMaskedLM.from_pretrained(adapted), tokenizer,
                                                          valid)}
    for name, model in (("original", "sentence-transformers/all-MiniLM-L6-v2"), ("adapted", str(adapted))):
        out = work / f"classifier_{name}"
        run_cli("train", "--model", model, "--max_train_samples", str(train_samples), "--max_eval_samples", "500",
                "--num_train_epochs", str(classifier_epochs),
                "--output_dir", str(out),
                "--overwrite_output_dir", "--report_to", "none", "--disable_tqdm", "--no_plot", "--eval_steps", "1000")
        metrics = json.loads((out / "metrics.json").read_text())
        result[f"classifier_accuracy_{name}"] = metrics["eval_accuracy"]
    return result


def head_only_perplexity(work: Path, tokenizer, max_steps: int, valid) -> float:
    """The same MLM training with the encoder frozen: what a new head alone reaches."""
    from tuneformers import (AutoModelForMaskedLM, DataCollatorForLanguageModeling, LineByLineTextDataset, Trainer,
                             TrainingArguments)

    model = AutoModelForMaskedLM.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("cls.")
    model.bert.embeddings.word_embeddings.weight.requires_grad = False  # tied to the decoder: part of the encoder
    train = LineByLineTextDataset(tokenizer, work / "train.txt", 64, cache_dir=work / "cache")
    args = TrainingArguments(output_dir=str(work / "head_only"), max_steps=max_steps, learning_rate=1e-4,
                             warmup_ratio=0.06, weight_decay=0.01, per_device_train_batch_size=16,
                             save_strategy="no", report_to="none", disable_tqdm=True, logging_steps=1000,
                             overwrite_output_dir=True)
    Trainer(model, args, data_collator=DataCollatorForLanguageModeling(tokenizer), train_dataset=train).train()
    return fixed_mask_perplexity(model, tokenizer, valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=("scratch", "continued"))
    parser.add_argument("--work_dir", default="outputs/bench_pretraining")
    parser.add_argument("--max_steps", type=int, default=None,
                        help="default: the command's from-scratch default (5 epochs) for scratch, 40 for continued")
    parser.add_argument("--train_samples", type=int, default=1000, help="classifier training examples (continued)")
    parser.add_argument("--classifier_epochs", type=float, default=3.0, help="classifier epochs (continued)")
    parser.add_argument("--family", choices=("bert", "roberta"), default="bert", help="model family (scratch)")
    parser.add_argument("--learning_rate", type=float, default=None,
                        help="peak learning rate (scratch; default: the command's from-scratch default)")
    parser.add_argument("--evaluate_only", action="store_true", help="scratch: evaluate the model already in work_dir")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))
    started = time.perf_counter()
    work = Path(args.work_dir) / (args.experiment if args.family == "bert" else f"{args.experiment}-{args.family}")
    if args.experiment == "scratch":
        result = scratch(work, args.max_steps, args.family, args.learning_rate, args.evaluate_only)
    else:
        result = continued(work, args.max_steps or 40, args.train_samples, args.classifier_epochs)
    result["wall_seconds"] = time.perf_counter() - started
    print(json.dumps(result, indent=2, default=float))
    (work / "result.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
