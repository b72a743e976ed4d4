"""Token classification data: CoNLL / JSONL readers, label alignment equal to HF run_ner's, entity scores
equal to seqeval's."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tuneformers.data.readers import DataFormatError
from tuneformers.data.token_classification import (TokenExample, align_labels_with_words, begin_to_inside,
                                                   check_labels, entities_with_offsets, entity_metrics, get_entities,
                                                   label_list_from, read_conll, read_token_examples, read_token_jsonl,
                                                   token_classification_metrics, tokenize_and_align_labels,
                                                   word_level_predictions)

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

"""

SENTENCES = [
    (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
     ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]),
    (["Peter", "Blackburn", "visited", "Washington-based", "Hurricanes'", "arena"],
     ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "O"]),
    (["Un", "café", "à", "Zürich", "naïvement", "commandé"], ["O", "O", "O", "B-LOC", "O", "O"]),
]


def test_read_conll_four_columns_skips_docstart(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL)
    examples = read_conll(path)
    assert [e.tokens for e in examples] == [("EU", "rejects", "German", "call", "."), ("Peter", "Blackburn")]
    assert examples[0].tags == ("B-ORG", "O", "B-MISC", "O", "O")
    assert (examples[0].line, examples[1].line) == (3, 9)
    assert read_conll(path, tag_column=2)[1].tags == ("B-NP", "I-NP")
    assert label_list_from(examples) == ["B-MISC", "B-ORG", "B-PER", "I-PER", "O"]


def test_conll_line_with_wrong_column_count_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("EU B-ORG\nrejects O\n\nGerman JJ B-MISC\n")
    with pytest.raises(DataFormatError, match=r"bad\.conll, line 4: 3 columns .* has 2") as info:
        read_conll(path)
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_unknown_label_names_file_and_line(tmp_path):
    path = tmp_path / "dev.conll"
    path.write_text("EU B-ORG\nrejects O\n\nGerman B-MISC\ncall O\n")
    examples = read_conll(path)
    with pytest.raises(DataFormatError, match=r"dev\.conll, line 4: tag 'B-MISC' .*not in the label list"):
        check_labels(examples, ["B-ORG", "O"])
    jsonl = tmp_path / "dev.jsonl"
    jsonl.write_text(json.dumps({"tokens": ["a"], "tags": ["O"]}) + "\n" + json.dumps({"tokens": ["b"], "tags": ["X"]}) + "\n")
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 2: tag 'X'"):
        check_labels(read_token_jsonl(jsonl), ["O"])


def test_read_jsonl_string_and_integer_tags(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"tokens": ["EU", "rejects"], "ner_tags": [1, 0]}) + "\n\n"
                    + json.dumps({"tokens": ["Peter"], "ner_tags": [2]}) + "\n")
    examples = read_token_examples(path, label_names=["O", "B-ORG", "B-PER"])
    assert [(e.tokens, e.tags, e.line) for e in examples] == [(("EU", "rejects"), ("B-ORG", "O"), 1),
                                                               (("Peter",), ("B-PER",), 3)]
    with pytest.raises(DataFormatError, match="line 1: tag 1 is not a tag name"):
        read_token_jsonl(path)
    path.write_text(json.dumps({"tokens": ["EU", "rejects"], "tags": ["O"]}) + "\n")
    with pytest.raises(DataFormatError, match="line 1: 2 tokens but 1 tags"):
        read_token_jsonl(path)


def hf_run_ner_alignment(hf_tokenizer, sentences, label_list, label_all_tokens, max_length):
    """HF run_ner.py's tokenize_and_align_labels, restated here as the oracle (HF tokenizer, same vocabulary)."""
    label_to_id = {label: i for i, label in enumerate(label_list)}
    b_to_i_label = []
    for idx, label in enumerate(label_list):
        if label.startswith("B-") and label.replace("B-", "I-") in label_list:
            b_to_i_label.append(label_list.index(label.replace("B-", "I-")))
        else:
            b_to_i_label.append(idx)
    tokenized = hf_tokenizer([words for words, _ in sentences], truncation=True, max_length=max_length,
                             is_split_into_words=True)
    labels = []
    for i, (_, tags) in enumerate(sentences):
        previous, label_ids = None, []
        for word_idx in tokenized.word_ids(batch_index=i):
            if word_idx is None:
                label_ids.append(-100)
            elif word_idx != previous:
                label_ids.append(label_to_id[tags[word_idx]])
            elif label_all_tokens:
                label_ids.append(b_to_i_label[label_to_id[tags[word_idx]]])
            else:
                label_ids.append(-100)
            previous = word_idx
        labels.append(label_ids)
    return tokenized["input_ids"], labels


@pytest.mark.parametrize("label_all_tokens", [False, True])
@pytest.mark.parametrize("max_length", [512, 8])
def test_alignment_equals_hf_run_ner(tokenizer, hf_tokenizer, label_all_tokens, max_length):
    sentences = SENTENCES + [(["I-only"], ["I-PER"])]
    examples = [TokenExample(tuple(words), tuple(tags)) for words, tags in sentences]
    label_list = label_list_from(examples) + ["I-LOC", "I-MISC"]
    features = tokenize_and_align_labels(tokenizer, examples, label_list, max_length=max_length,
                                         label_all_tokens=label_all_tokens)
    hf_ids, hf_labels = hf_run_ner_alignment(hf_tokenizer, sentences, label_list, label_all_tokens, max_length)
    assert [f["input_ids"] for f in features] == hf_ids
    assert [f["labels"] for f in features] == hf_labels
    inner = [label for labels in hf_labels for label in labels[1:-1]]
    assert (-100 in inner) != label_all_tokens  # words split into sub-tokens exist


def test_begin_to_inside_and_word_predictions():
    assert begin_to_inside(["B-PER", "I-PER", "B-LOC", "O"]) == [1, 1, 2, 3]
    assert align_labels_with_words([None, 0, 0, 1, None], [0, 3], True, [1, 1, 2, 3]) == [-100, 0, 1, 3, -100]
    assert word_level_predictions([None, 0, 0, 1, 1, 2, None], list("abcdefg")) == ["b", "d", "f"]


def random_tags(rng: random.Random, length: int, prefixes: str) -> list[str]:
    return [rng.choice(["O"] + [f"{p}-{kind}" for p in prefixes for kind in ("PER", "LOC")]) for _ in range(length)]


@pytest.mark.parametrize("prefixes", ["BI", "IE", "BIES"])
def test_entities_and_scores_equal_seqeval_default_mode(prefixes):
    metrics = pytest.importorskip("seqeval.metrics")
    from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

    rng = random.Random(len(prefixes))
    true = [random_tags(rng, rng.randint(1, 12), prefixes) for _ in range(300)]
    pred = [[tag if rng.random() < 0.7 else rng.choice(random_tags(rng, 1, prefixes)) for tag in row] for row in true]
    for row in true[:100]:
        assert get_entities(row) == seqeval_entities(row)
    ours = entity_metrics(true, pred, per_type=True)
    assert ours["precision"] == pytest.approx(metrics.precision_score(true, pred), abs=1e-12)
    assert ours["recall"] == pytest.approx(metrics.recall_score(true, pred), abs=1e-12)
    assert ours["f1"] == pytest.approx(metrics.f1_score(true, pred), abs=1e-12)
    assert ours["accuracy"] == pytest.approx(metrics.accuracy_score(true, pred), abs=1e-12)
    report = metrics.classification_report(true, pred, output_dict=True)
    assert ours["PER_f1"] == pytest.approx(report["PER"]["f1-score"], abs=1e-12)
    assert ours["LOC_number"] == report["LOC"]["support"]
    assert 0.2 < ours["f1"] < 0.95  # neither trivial nor perfect


def test_bilou_reads_as_seqeval_strict_bilou():
    metrics = pytest.importorskip("seqeval.metrics")
    from seqeval.scheme import BILOU

    true = [["U-PER", "O", "B-LOC", "I-LOC", "L-LOC"], ["B-ORG", "L-ORG", "U-LOC"]]
    pred = [["U-PER", "O", "B-LOC", "L-LOC", "O"], ["B-ORG", "L-ORG", "U-PER"]]
    ours = entity_metrics(true, pred)
    assert get_entities(true[0]) == [("PER", 0, 0), ("LOC", 2, 4)]
    assert ours["f1"] == pytest.approx(metrics.f1_score(true, pred, mode="strict", scheme=BILOU))
    strict = entity_metrics(true, pred, scheme="BILOU")
    assert strict["f1"] == pytest.approx(ours["f1"]) and strict["f1"] == pytest.approx(0.5)


def test_metrics_from_logits_ignore_padding_labels():
    label_list = ["O", "B-PER", "I-PER"]
    labels = np.array([[-100, 1, 2, -100, 0, -100], [-100, 1, 0, 0, -100, -100]])
    logits = np.zeros((2, 6, 3))
    for row, ids in enumerate([[0, 1, 2, 0, 0, 2], [2, 1, 0, 1, 0, 1]]):
        logits[row, np.arange(6), ids] = 1.0
    result = token_classification_metrics(logits, labels, label_list)
    # gold: PER(0..1) | PER(0); predicted: PER(0..1) | PER(0), PER(2): 2 of 3 predictions right, both gold found
    assert result["recall"] == 1.0 and result["precision"] == pytest.approx(2 / 3)
    assert result["accuracy"] == pytest.approx(5 / 6)


def test_entities_with_offsets():
    words = ["Peter", "Blackburn", "visited", "New", "York"]
    entities = entities_with_offsets(words, ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"])
    text = " ".join(words)
    assert [(e["entity_group"], e["word"], text[e["start"]:e["end"]]) for e in entities] == [
        ("PER", "Peter Blackburn", "Peter Blackburn"), ("LOC", "New York", "New York")]


def test_task_data_modules_import_no_framework():
    import subprocess
    import sys

    modules = ["tuneformers.data.token_classification", "tuneformers.data.question_answering",
               "tuneformers.data.multiple_choice", "tuneformers.cli.tasks"]
    code = "; ".join(f"import {m}" for m in modules) + (
        "; import sys; print(sorted(m for m in ('torch', 'tensorflow', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
