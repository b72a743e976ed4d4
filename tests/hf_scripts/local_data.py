"""Local files in the formats Hugging Face's example scripts read, built from real text, so those scripts and
ours run without a download: GLUE SST-2 TSVs and CSVs (Rotten Tomatoes snippets), CoNLL token files, SQuAD v1.1
JSON, SWAG CSV and plain text lines (Lee corpus news text, gensim's test data).

Labels that the text does not carry follow from it by a fixed rule, nothing is guessed by a model:
* names (CoNLL): a run of capitalised words that does not open its sentence is one NAME entity (IOB2);
* cloze QA (SQuAD): the question is a sentence with one such name replaced by "which name", the context is the
  document holding it, the answer is that name's first occurrence in the document;
* next sentence (SWAG): the context is a sentence, the endings are the sentence that follows it and three
  sentences of other documents; the label is where the true one landed.

Run as ``python tests/hf_scripts/local_data.py OUT_DIR`` to write every format under OUT_DIR.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import random
import re
import sys
from pathlib import Path

import tuneformers

WORD = re.compile(r"\S+")


def lee_documents() -> list[str]:
    """The 300 background documents of the Lee corpus, one news text each."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gensim's test data is missing: pip install --no-deps gensim==4.4.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data" / "lee_background.cor"
    return [line.strip() for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]


def sentences_of(document: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", document) if len(s.split()) >= 5]


def name_tags(words: list[str]) -> list[str]:
    tags, inside = [], False
    for index, word in enumerate(words):
        is_name = index > 0 and word[:1].isupper() and word.strip(".,;:'\"()").isalpha()
        tags.append(("I-NAME" if inside else "B-NAME") if is_name else "O")
        inside = is_name and not word.endswith((",", ".", ";", ":"))
    return tags


def write_sst2_tsv(folder: Path, n_train: int, n_dev: int, n_test: int) -> list[int]:
    """SST-2's train.tsv, dev.tsv and test.tsv from Rotten Tomatoes snippets; returns the dev labels."""
    reviews = tuneformers.load_rotten_tomatoes(max_examples=n_train + n_dev + n_test)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": reviews[:n_train], "dev": reviews[n_train:n_train + n_dev], "test": reviews[n_train + n_dev:]}
    for split, rows in parts.items():
        with open(folder / f"{split}.tsv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            if split == "test":
                writer.writerow(["index", "sentence"])
                writer.writerows((index, " ".join(row.text.split())) for index, row in enumerate(rows))
            else:
                writer.writerow(["sentence", "label"])
                writer.writerows((" ".join(row.text.split()), row.label) for row in rows)
    return [row.label for row in parts["dev"]]


def write_sst2_csv(folder: Path, n_train: int, n_dev: int) -> list[int]:
    """train.csv and validation.csv (columns sentence, label), the files run_glue v4 takes as --train_file."""
    reviews = tuneformers.load_rotten_tomatoes(max_examples=n_train + n_dev)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.csv", reviews[:n_train]), ("validation.csv", reviews[n_train:])):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sentence", "label"])
            writer.writerows((row.text, row.label) for row in rows)
    return [row.label for row in reviews[n_train:]]


def write_conll(folder: Path, n_train: int, n_dev: int) -> None:
    """train.txt, dev.txt, test.txt ("word tag" lines, blank line between sentences) and labels.txt."""
    sentences = [s for document in lee_documents() for s in sentences_of(document) if len(s.split()) <= 40]
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": sentences[:n_train], "dev": sentences[n_train:n_train + n_dev],
             "test": sentences[n_train + n_dev:n_train + 2 * n_dev]}
    for split, part in parts.items():
        with open(folder / f"{split}.txt", "w", encoding="utf-8") as handle:
            handle.write("-DOCSTART- -X- O O\n\n")
            for sentence in part:
                words = sentence.split()
                handle.writelines(f"{word} {tag}\n" for word, tag in zip(words, name_tags(words)))
                handle.write("\n")
    (folder / "labels.txt").write_text("B-NAME\nI-NAME\n", encoding="utf-8")


def cloze_questions(documents: list[str], prefix: str) -> list[dict]:
    questions = []
    for doc_index, document in enumerate(documents):
        for sent_index, sentence in enumerate(sentences_of(document)):
            words = sentence.split()
            tags = name_tags(words)
            if "B-NAME" not in tags or len(words) > 30:
                continue
            first = tags.index("B-NAME")
            last = first
            while last + 1 < len(tags) and tags[last + 1] == "I-NAME":
                last += 1
            name = " ".join(words[first:last + 1]).strip(".,;:'\"()")
            match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", document)
            if match is None:
                continue
            question = " ".join(words[:first] + ["which", "name"] + words[last + 1:])
            questions.append({"id": f"{prefix}-{doc_index}-{sent_index}", "question": question, "context": document,
                              "answers": [{"text": name, "answer_start": match.start()}]})
    return questions


def write_squad(folder: Path, n_train: int, n_dev: int) -> None:
    """train-v1.1.json and dev-v1.1.json: one SQuAD v1.1 paragraph per question."""
    documents = lee_documents()
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train-v1.1.json": cloze_questions(documents[:200], "train")[:n_train],
             "dev-v1.1.json": cloze_questions(documents[200:], "dev")[:n_dev]}
    for name, questions in parts.items():
        paragraphs = [{"context": q["context"], "qas": [{"id": q["id"], "question": q["question"],
                                                         "answers": q["answers"]}]} for q in questions]
        data = {"version": "1.1", "data": [{"title": "lee", "paragraphs": paragraphs}]}
        (folder / name).write_text(json.dumps(data), encoding="utf-8")


SWAG_HEADER = ["", "video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source",
               "ending0", "ending1", "ending2", "ending3", "label"]


def write_swag(folder: Path, n_train: int, n_dev: int, seed: int = 0) -> None:
    """train.csv and val.csv with SWAG's columns."""
    rng = random.Random(seed)
    documents = [sentences_of(document) for document in lee_documents()]
    rows = []
    for doc_index, sentences in enumerate(documents):
        for index in range(len(sentences) - 1):
            others = [rng.choice(documents[j]) for j in rng.sample(range(len(documents)), 6)
                      if j != doc_index and documents[j]][:3]
            label = rng.randrange(4)
            endings = others[:label] + [sentences[index + 1]] + others[label:]
            rows.append([len(rows), f"lee{doc_index}", index, sentences[index], sentences[index], "", "gold",
                         *endings, label])
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", rows[:n_train]), ("val.csv", rows[n_train:n_train + n_dev])):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(SWAG_HEADER)
            writer.writerows(part)


def write_text_lines(folder: Path, n_train: int, n_dev: int) -> None:
    """train.txt and valid.txt: one sentence of news text a line."""
    sentences = [s for document in lee_documents() for s in sentences_of(document)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("\n".join(sentences[:n_train]) + "\n", encoding="utf-8")
    (folder / "valid.txt").write_text("\n".join(sentences[n_train:n_train + n_dev]) + "\n", encoding="utf-8")


def main(out: Path) -> None:
    write_sst2_tsv(out / "SST-2", 400, 100, 16)
    write_sst2_csv(out / "sst2-csv", 400, 100)
    write_conll(out / "conll", 300, 80)
    write_squad(out / "squad", 300, 80)
    write_swag(out / "swag", 300, 80)
    write_text_lines(out / "text", 600, 150)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
