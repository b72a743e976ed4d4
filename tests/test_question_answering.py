"""Extractive QA data: SQuAD readers, windows equal to HF run_qa's, post-processing equal to HF utils_qa's,
EM / F1 equal to the official SQuAD scripts' formulas. Contexts are real news text (the Lee corpus)."""

from __future__ import annotations

import collections
import json
import random
import re
import string

import numpy as np
import pytest

from tuneformers.data.readers import DataFormatError
from tuneformers.data.question_answering import (QAExample, exact_match_score, f1_score, normalize_answer,
                                                 postprocess_qa_predictions, prepare_train_features,
                                                 prepare_validation_features, read_qa_examples, read_qa_jsonl,
                                                 read_squad, squad_metrics)


@pytest.fixture(scope="module")
def lee_examples(lee_dir) -> list[QAExample]:
    """Questions on real news documents: answers are words picked from the document (some near the end,
    so they fall in later windows), plus unanswerable ones."""
    documents = (lee_dir / "lee.cor").read_text(encoding="latin-1").splitlines()[:12]
    rng = random.Random(0)
    examples = []
    for number, context in enumerate(documents):
        words = [m for m in re.finditer(r"\S+(?: \S+){0,2}", context)]
        for kind in range(3):
            match = words[-1] if kind == 0 else rng.choice(words)
            answers = () if kind == 2 and number % 2 else ((match.group(), match.start()),)
            examples.append(QAExample(f"{number}-{kind}", "  What is said about " + " ".join(context.split()[:3]) + "?",
                                      context, answers))
    return examples


# ---- readers ----


def squad_json(version_2: bool, answer_start: int = 0) -> dict:
    qas = [{"id": "q1", "question": "Who?", "answers": [{"text": "Peter", "answer_start": answer_start}]}]
    if version_2:
        qas.append({"id": "q2", "question": "Why?", "answers": [], "is_impossible": True,
                    "plausible_answers": [{"text": "visited", "answer_start": 6}]})
    return {"version": "v2.0" if version_2 else "1.1",
            "data": [{"title": "t", "paragraphs": [{"context": "Peter visited Paris.", "qas": qas}]}]}


def test_read_squad_v1_and_v2(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(squad_json(True), indent=1))
    examples = read_squad(path)
    assert [(e.id, e.answers) for e in examples] == [("q1", (("Peter", 0),)), ("q2", ())]
    assert read_qa_examples(path) == examples


def test_answer_not_in_context_names_file_and_line(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad_json(False, answer_start=3), indent=1))
    with pytest.raises(DataFormatError, match=r"train\.json, line \d+: answer 'Peter' is not in its context at "
                                              r"answer_start=3; it occurs at 0"):
        read_squad(path)
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text(json.dumps({"question": "Who?", "context": "Peter visited Paris.", "answers": ["Paris"]}) + "\n"
                     + json.dumps({"question": "Who?", "context": "Peter visited Paris.", "answers": ["Rome"]}) + "\n")
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 2: answer 'Rome' .*does not occur"):
        read_qa_jsonl(jsonl)


def test_read_jsonl_answer_forms(tmp_path):
    path = tmp_path / "data.jsonl"
    context = "Peter visited Paris."
    rows = [{"id": "a", "question": "Q", "context": context, "answers": {"text": ["Paris"], "answer_start": [14]}},
            {"question": "Q", "context": context, "answers": [{"text": "Peter", "answer_start": 0}]},
            {"question": "Q", "context": context, "answers": ["visited"]},
            {"question": "Q", "context": context, "answers": []}]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    examples = read_qa_examples(path)
    assert [(e.id, e.answers) for e in examples] == [("a", (("Paris", 14),)), ("2", (("Peter", 0),)),
                                                     ("3", (("visited", 6),)), ("4", ())]


# ---- features: HF run_qa.py's prepare_train_features / prepare_validation_features as the oracle ----


def hf_prepare_features(tokenizer, examples, max_length, doc_stride, train):
    tokenized = tokenizer([e.question.lstrip() for e in examples], [e.context for e in examples],
                          truncation="only_second", max_length=max_length, stride=doc_stride,
                          return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    offset_mapping = tokenized.pop("offset_mapping")
    rows = []
    for i, offsets in enumerate(offset_mapping):
        input_ids = tokenized["input_ids"][i]
        sequence_ids = tokenized.sequence_ids(i)
        example = examples[sample_mapping[i]]
        row = {key: tokenized[key][i] for key in ("input_ids", "token_type_ids", "attention_mask")}
        if not train:
            row["example_id"] = example.id
            row["offset_mapping"] = [tuple(o) if sequence_ids[k] == 1 else None for k, o in enumerate(offsets)]
            rows.append(row)
            continue
        cls_index = input_ids.index(tokenizer.cls_token_id)
        if not example.answers:
            row["start_positions"] = row["end_positions"] = cls_index
        else:
            start_char = example.answers[0][1]
            end_char = start_char + len(example.answers[0][0])
            token_start_index = 0
            while sequence_ids[token_start_index] != 1:
                token_start_index += 1
            token_end_index = len(input_ids) - 1
            while sequence_ids[token_end_index] != 1:
                token_end_index -= 1
            if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
                row["start_positions"] = row["end_positions"] = cls_index
            else:
                while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                    token_start_index += 1
                row["start_positions"] = token_start_index - 1
                while offsets[token_end_index][1] >= end_char:
                    token_end_index -= 1
                row["end_positions"] = token_end_index + 1
        rows.append(row)
    return rows


@pytest.mark.parametrize("max_length,doc_stride", [(384, 128), (64, 16)])
def test_train_features_equal_hf_run_qa(tokenizer, hf_tokenizer, lee_examples, max_length, doc_stride):
    ours = prepare_train_features(tokenizer, lee_examples, max_length, doc_stride)
    reference = hf_prepare_features(hf_tokenizer, lee_examples, max_length, doc_stride, train=True)
    assert ours == reference
    starts = [row["start_positions"] for row in ours]
    assert 0 < starts.count(0) < len(ours)  # some windows hold the answer, some point at [CLS]
    assert (len(ours) > len(lee_examples)) == (max_length == 64)  # long documents are split into windows


def test_train_features_point_at_the_answer(tokenizer, lee_examples):
    for row in prepare_train_features(tokenizer, lee_examples[:9], 64, 16):
        if row["start_positions"]:
            text = tokenizer.decode(row["input_ids"][row["start_positions"]:row["end_positions"] + 1])
            assert text and text in tokenizer.decode(row["input_ids"])


def test_validation_features_equal_hf_run_qa(tokenizer, hf_tokenizer, lee_examples):
    assert (prepare_validation_features(tokenizer, lee_examples, 64, 16)
            == hf_prepare_features(hf_tokenizer, lee_examples, 64, 16, train=False))


# ---- post-processing: HF utils_qa.py's postprocess_qa_predictions as the oracle ----


def hf_postprocess(examples, features, predictions, version_2_with_negative, n_best_size, max_answer_length,
                   null_score_diff_threshold):
    all_start_logits, all_end_logits = predictions
    example_id_to_index = {e.id: i for i, e in enumerate(examples)}
    features_per_example = collections.defaultdict(list)
    for i, feature in enumerate(features):
        features_per_example[example_id_to_index[feature["example_id"]]].append(i)
    all_predictions = {}
    for example_index, example in enumerate(examples):
        min_null_prediction, prelim_predictions = None, []
        for feature_index in features_per_example[example_index]:
            start_logits, end_logits = all_start_logits[feature_index], all_end_logits[feature_index]
            offset_mapping = features[feature_index]["offset_mapping"]
            feature_null_score = start_logits[0] + end_logits[0]
            if min_null_prediction is None or min_null_prediction["score"] > feature_null_score:
                min_null_prediction = {"offsets": (0, 0), "score": feature_null_score,
                                       "start_logit": start_logits[0], "end_logit": end_logits[0]}
            start_indexes = np.argsort(start_logits)[-1: -n_best_size - 1: -1].tolist()
            end_indexes = np.argsort(end_logits)[-1: -n_best_size - 1: -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    if (start_index >= len(offset_mapping) or end_index >= len(offset_mapping)
                            or offset_mapping[start_index] is None or offset_mapping[end_index] is None):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim_predictions.append({
                        "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                        "score": start_logits[start_index] + end_logits[end_index],
                        "start_logit": start_logits[start_index], "end_logit": end_logits[end_index]})
        if version_2_with_negative:
            prelim_predictions.append(min_null_prediction)
            null_score = min_null_prediction["score"]
        predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
        if version_2_with_negative and not any(p["offsets"] == (0, 0) for p in predictions):
            predictions.append(min_null_prediction)
        for pred in predictions:
            offsets = pred.pop("offsets")
            pred["text"] = example.context[offsets[0]: offsets[1]]
        if len(predictions) == 0 or (len(predictions) == 1 and predictions[0]["text"] == ""):
            predictions.insert(0, {"text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
        scores = np.array([pred.pop("score") for pred in predictions])
        probs = np.exp(scores - np.max(scores)) / np.exp(scores - np.max(scores)).sum()
        if not version_2_with_negative:
            all_predictions[example.id] = (predictions[0]["text"], probs.tolist())
        else:
            i = 0
            while predictions[i]["text"] == "":
                i += 1
            best = predictions[i]
            score_diff = null_score - best["start_logit"] - best["end_logit"]
            all_predictions[example.id] = ("" if score_diff > null_score_diff_threshold else best["text"], probs.tolist())
    return all_predictions


@pytest.mark.parametrize("version_2,threshold", [(False, 0.0), (True, 0.0), (True, 2.0)])
def test_postprocessing_equals_hf_utils_qa(tokenizer, lee_examples, version_2, threshold):
    features = prepare_validation_features(tokenizer, lee_examples, 64, 16)
    rng = np.random.default_rng(int(version_2) + int(threshold))
    logits = rng.normal(size=(2, len(features), 64)).astype(np.float32)
    logits[:, :, 0] += 2.5  # make the null answer competitive
    answers, nbest = postprocess_qa_predictions(lee_examples, features, (logits[0], logits[1]), version_2, 20, 30,
                                                threshold)
    reference = hf_postprocess(lee_examples, features, (logits[0], logits[1]), version_2, 20, 30, threshold)
    assert answers == {key: text for key, (text, _) in reference.items()}
    for key, (_, probabilities) in reference.items():
        np.testing.assert_allclose([p["probability"] for p in nbest[key]], probabilities, rtol=1e-6)
    if version_2 and threshold == 0.0:
        assert 0 < sum(text == "" for text in answers.values()) < len(answers)
    for example in lee_examples:
        for entry in nbest[example.id]:
            if entry["text"] not in ("", "empty"):
                assert example.context[entry["start"]:entry["end"]] == entry["text"]


# ---- metrics: the official SQuAD v1.1 / v2.0 evaluation formulas as the oracle ----


def official_normalize(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def official_f1_v2(a_gold, a_pred):
    gold_toks, pred_toks = official_normalize(a_gold).split(), official_normalize(a_pred).split()
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision, recall = 1.0 * num_same / len(pred_toks), 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


PAIRS = [("The Eiffel Tower", "eiffel tower"), ("a cat, the dog", "cat dog"), ("Paris.", "in Paris"),
         ("1,000 people", "1000 people"), ("", ""), ("", "something"), ("Ärzte ohne Grenzen", "ärzte grenzen"),
         ("an answer", "the answer is"), ("New York City", "York")]


def test_squad_formulas_equal_official_script():
    for prediction, truth in PAIRS:
        assert normalize_answer(prediction) == official_normalize(prediction)
        assert exact_match_score(prediction, truth) == int(official_normalize(prediction) == official_normalize(truth))
        assert f1_score(prediction, truth) == pytest.approx(official_f1_v2(truth, prediction), abs=1e-12)


def test_squad_metrics_v1_and_v2():
    examples = [QAExample("1", "q", "Paris is big", (("Paris", 0), ("Paris is", 0))),
                QAExample("2", "q", "New York City", (("New York City", 0),)),
                QAExample("3", "q", "nothing here", ())]
    result = squad_metrics({"1": "paris is", "2": "York", "3": ""}, examples)
    assert result["exact_match"] == pytest.approx(200 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 0.5 + 1) / 3)
    assert (result["HasAns_total"], result["NoAns_total"], result["NoAns_exact_match"]) == (2, 1, 100.0)
    v1 = squad_metrics({"1": "Paris"}, examples[:2])
    assert v1 == {"exact_match": 50.0, "f1": 50.0, "total": 2}
