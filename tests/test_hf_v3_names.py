"""v3 names that HF's example scripts call: encode_plus on ids / tokens with overflowing_tokens and
num_truncated_tokens (against HF 5.x's Python-backend tokenizer, which kept that contract), longest_first pair
overflow as one row (v3), and the SQuAD processors / features / post-processing / scores of run_squad.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuneformers import SquadV1Processor, SquadV2Processor, squad_convert_examples_to_features
from tuneformers.data.metrics.squad_metrics import (compute_predictions_log_probs, compute_predictions_logits,
                                                    squad_evaluate)
from tuneformers.data.processors.squad import SquadExample, SquadResult

TEXT = "one two three four five six seven eight nine ten"


@pytest.fixture(scope="module")
def hf_python_tokenizer(minilm_dir):
    """HF 5.x's Python-backend WordPiece tokenizer on the same vocabulary: its prepare_for_model /
    truncate_sequences are v3's for everything but pairs cut with longest_first."""
    prophetnet = pytest.importorskip("transformers.models.prophetnet.tokenization_prophetnet")
    return prophetnet.ProphetNetTokenizer(str(minilm_dir / "vocab.txt"))


CASES = [  # (truncation, max_length, stride, pair?)
    (True, 6, 0, False), ("only_first", 7, 2, False), ("only_first", 7, 2, True), ("only_second", 12, 1, True),
    (True, 20, 0, False), ("only_first", 6, 0, True),
]


@pytest.mark.parametrize("truncation, max_length, stride, pair", CASES)
def test_encode_plus_on_ids_equals_hf_python_tokenizer(tokenizer, hf_python_tokenizer, truncation, max_length, stride,
                                                       pair):
    ids = tokenizer.encode(TEXT, add_special_tokens=False)
    first, second = (ids[:4], ids) if truncation == "only_second" else (ids, ids[:4] if pair else None)
    options = dict(add_special_tokens=False, return_overflowing_tokens=True, return_token_type_ids=False,
                   truncation=truncation, max_length=max_length, stride=stride)
    expected = dict(hf_python_tokenizer(first, second, **options))
    assert dict(tokenizer.encode_plus(first, second, **options)) == expected
    assert dict(tokenizer.prepare_for_model(first, second, **options)) == expected


def test_encode_plus_on_tokens_and_with_special_tokens(tokenizer):
    tokens = tokenizer.tokenize(TEXT)
    ids = tokenizer.convert_tokens_to_ids(tokens)
    from_tokens = tokenizer.encode_plus(tokens, max_length=6, truncation=True, return_overflowing_tokens=True, stride=2)
    assert from_tokens["input_ids"] == [tokenizer.cls_token_id, *ids[:4], tokenizer.sep_token_id]
    assert from_tokens["overflowing_tokens"] == ids[2:] and from_tokens["num_truncated_tokens"] == 6
    untouched = tokenizer.encode_plus(ids, max_length=64, truncation=True, return_overflowing_tokens=True)
    assert "overflowing_tokens" not in untouched and untouched["input_ids"] == tokenizer.encode(TEXT)


def test_batch_encode_plus_on_ids_pads_and_reports_every_row(tokenizer):
    ids = tokenizer.encode(TEXT, add_special_tokens=False)
    batch = tokenizer.batch_encode_plus([ids, ids[:3]], max_length=6, truncation=True, return_overflowing_tokens=True,
                                        padding=True, return_tensors=None)
    assert [len(row) for row in batch["input_ids"]] == [6, 6] and batch["attention_mask"][1][-1] == 0
    assert batch["overflowing_tokens"] == [ids[4:], []] and batch["num_truncated_tokens"] == [6, 0]
    pairs = tokenizer.batch_encode_plus([(ids, ids[:2])], max_length=6, truncation="only_first")
    assert pairs["input_ids"] == [[tokenizer.cls_token_id, ids[0], tokenizer.sep_token_id, *ids[:2],
                                   tokenizer.sep_token_id]]


def test_longest_first_pair_with_overflow_is_one_row_with_the_cut_count(tokenizer):
    """v3's utils_multiple_choice asks for this on every choice (a ValueError before)."""
    first, second = TEXT, "alpha beta gamma delta"
    encoding = tokenizer(first, second, max_length=10, truncation=True, padding="max_length",
                         return_overflowing_tokens=True)
    plain = tokenizer(first, second, max_length=10, truncation=True, padding="max_length")
    assert encoding["input_ids"] == plain["input_ids"] and encoding["num_truncated_tokens"] == 7
    first_ids, second_ids = (tokenizer.encode(t, add_special_tokens=False) for t in (first, second))
    assert encoding["overflowing_tokens"] == first_ids[4:] + second_ids[3:]
    short = tokenizer(first, second, max_length=64, truncation=True, return_overflowing_tokens=True)
    assert "num_truncated_tokens" not in short


def test_ids_reject_offsets_and_unknown_keywords(tokenizer):
    with pytest.raises(ValueError, match="offsets"):
        tokenizer.encode_plus([5, 6, 7], return_offsets_mapping=True)
    with pytest.raises(TypeError, match="max_lenght"):
        tokenizer.prepare_for_model([5, 6, 7], max_lenght=4)


# ------------------------------------------------------------------------------------------ SQuAD

CONTEXT = ("Hundreds of people have been forced to vacate their homes in the Southern Highlands of New South Wales "
           "as strong winds today pushed a huge bushfire towards the town of Hill Top. A new blaze near Goulburn, "
           "south-west of Sydney, has forced the closure of the Hume Highway.")
QUESTIONS = [("q1", "A new blaze near which name, south-west of Sydney, has forced a closure?", "Goulburn"),
             ("q2", "Strong winds pushed a bushfire towards which town?", "Hill Top"),
             ("q3", "Which road was closed?", "Hume Highway")]


def write_squad(path, version_2=False):
    qas = [{"id": qid, "question": question, "answers": [{"text": answer, "answer_start": CONTEXT.index(answer)}]}
           for qid, question, answer in QUESTIONS]
    if version_2:
        qas.append({"id": "q4", "question": "Who won the cricket?", "answers": [], "is_impossible": True})
    data = {"version": "v2.0" if version_2 else "1.1", "data": [{"title": "t", "paragraphs": [{"context": CONTEXT,
                                                                                               "qas": qas}]}]}
    path.write_text(json.dumps(data))


def test_processors_read_train_and_dev_examples_as_v3(tmp_path):
    write_squad(tmp_path / "train-v1.1.json")
    write_squad(tmp_path / "dev-v2.0.json", version_2=True)
    train = SquadV1Processor().get_train_examples(str(tmp_path))
    assert [(e.qas_id, e.answer_text, e.start_position_character, e.answers) for e in train[:1]] == [
        ("q1", "Goulburn", CONTEXT.index("Goulburn"), [])]
    dev = SquadV2Processor().get_dev_examples(str(tmp_path))
    assert dev[0].answer_text is None and dev[0].answers == [{"text": "Goulburn",
                                                              "answer_start": CONTEXT.index("Goulburn")}]
    assert dev[-1].is_impossible and dev[-1].answers == []
    with pytest.raises(FileNotFoundError):
        SquadV1Processor().get_dev_examples(str(tmp_path))


@pytest.mark.parametrize("max_seq_length, doc_stride", [(64, 16), (384, 128)])
def test_training_features_point_at_the_answer_and_windows_step_by_doc_stride(tmp_path, tokenizer, max_seq_length,
                                                                             doc_stride):
    write_squad(tmp_path / "train-v1.1.json")
    examples = SquadV1Processor().get_train_examples(str(tmp_path))
    features, dataset = squad_convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, 8, True,
                                                           return_dataset="pt")
    assert len(dataset) == len(features) and dataset.tensors[0].shape == (len(features), max_seq_length)
    assert [f.unique_id for f in features] == list(range(1000000000, 1000000000 + len(features)))
    for example_index, example in enumerate(examples):
        windows = [f for f in features if f.example_index == example_index]
        firsts = [next(i for i, o in enumerate(f.offset_mapping) if o is not None) for f in windows]
        starts = [f.offset_mapping[i][0] for f, i in zip(windows, firsts)]
        assert all(b > a for a, b in zip(starts, starts[1:]))
        if len(starts) > 1:
            assert len(tokenizer.tokenize(CONTEXT[starts[0]:starts[1]])) == doc_stride
        else:
            assert max_seq_length == 384  # the whole context fits one window
        found = [f for f in windows if not f.is_impossible]
        assert found, example.answer_text
        for f in found:
            text = tokenizer.decode(f.input_ids[f.start_position:f.end_position + 1])
            assert text == example.answer_text.lower()
            assert f.p_mask[f.start_position] == 0 and f.p_mask[1] == 1 and f.p_mask[f.cls_index] == 0
        question_tokens = windows[0].token_type_ids.index(1) - 2
        assert question_tokens <= 8  # cut to max_query_length


def test_perfect_logits_give_full_marks_and_files(tmp_path, tokenizer):
    write_squad(tmp_path / "dev-v1.1.json")
    examples = SquadV1Processor().get_dev_examples(str(tmp_path))
    features, dataset = squad_convert_examples_to_features(examples, tokenizer, 48, 16, 64, False, return_dataset="pt")
    assert dataset.tensors[3].tolist() == list(range(len(features)))
    results = []
    for feature in features:
        answer = examples[feature.example_index].answers[0]
        begin, end = answer["answer_start"], answer["answer_start"] + len(answer["text"])
        start_logits = [5.0 if o and o[0] == begin else -5.0 for o in feature.offset_mapping]
        end_logits = [5.0 if o and o[1] == end else -5.0 for o in feature.offset_mapping]
        results.append(SquadResult(feature.unique_id, start_logits, end_logits))
    files = [tmp_path / name for name in ("predictions.json", "nbest.json")]
    predictions = compute_predictions_logits(examples, features, results, 20, 30, True, str(files[0]), str(files[1]),
                                             None, False, False, 0.0, tokenizer)
    assert predictions == {qid: answer for qid, _, answer in QUESTIONS}
    assert json.loads(files[0].read_text()) == predictions and set(json.loads(files[1].read_text())) == {"q1", "q2", "q3"}
    assert squad_evaluate(examples, predictions) == {
        "exact": 100.0, "f1": 100.0, "total": 3, "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 3,
        "best_exact": 100.0, "best_exact_thresh": 0.0, "best_f1": 100.0, "best_f1_thresh": 0.0}
    with pytest.raises(ValueError, match="No SquadResult"):
        compute_predictions_logits(examples, features, results[:-1], 20, 30, True, None, None, None, False, False, 0.0)
    with pytest.raises(NotImplementedError, match="XLNet"):
        compute_predictions_log_probs(examples, features, results)


def test_squad_evaluate_v2_scores_and_best_threshold():
    """Worked by hand from v3's definitions: two answerable questions (one right, one half right), two
    unanswerable ones (one correctly left empty); the no-answer probabilities move the best threshold."""
    examples = [SquadExample("a", "q", "c", None, None, answers=[{"text": "Hill Top", "answer_start": 0}]),
                SquadExample("b", "q", "c", None, None, answers=[{"text": "Hume Highway", "answer_start": 0}]),
                SquadExample("c", "q", "c", None, None, is_impossible=True),
                SquadExample("d", "q", "c", None, None, is_impossible=True)]
    predictions = {"a": "Hill Top", "b": "Highway", "c": "", "d": "Sydney"}
    result = squad_evaluate(examples, predictions)
    assert result["exact"] == 50.0 and result["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1 + 0) / 4)
    assert (result["HasAns_exact"], result["NoAns_exact"], result["NoAns_total"]) == (50.0, 50.0, 2)
    no_answer = {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.3}
    best = squad_evaluate(examples, predictions, no_answer)
    # answering by rising probability: a (+1), d (-1), c (0), b (+0 exact): best 2 + 1 = 3 of 4 right at 0.1
    assert (best["best_exact"], best["best_exact_thresh"]) == (75.0, 0.1)
    assert squad_evaluate(examples, predictions, no_answer, 0.2)["NoAns_exact"] == 100.0  # c and d count as empty


def test_fast_tokenizer_needed(minilm_dir):
    from tuneformers import BertTokenizer

    slow = BertTokenizer.from_pretrained(minilm_dir)
    example = SquadExample("q", "Which?", CONTEXT, "Goulburn", CONTEXT.index("Goulburn"))
    with pytest.raises(ValueError, match="AutoTokenizer"):
        squad_convert_examples_to_features([example], slow, 64, 16, 8, True)


def test_windows_for_a_question_longer_than_max_query_length(tokenizer):
    example = SquadExample("q", " ".join(["which"] * 40) + " town?", CONTEXT, "Hill Top", CONTEXT.index("Hill Top"))
    features = squad_convert_examples_to_features([example], tokenizer, 64, 16, 10, True)
    assert all(f.token_type_ids.index(1) - 2 == 10 for f in features)
    assert np.any([not f.is_impossible for f in features])


def test_hf_argument_parser_help_states_each_default_once():
    from tuneformers import HfArgumentParser, TrainingArguments

    text = " ".join(HfArgumentParser(TrainingArguments).format_help().split())
    assert "Deprecated: use use_cpu. (default: False)" in text and "(default: False) (default: False)" not in text


@pytest.mark.tf
def test_processor_reads_tensorflow_datasets_records():
    tf = pytest.importorskip("tensorflow")
    record = {"id": tf.constant("a"), "question": tf.constant("Which road?"), "context": tf.constant(CONTEXT),
              "title": tf.constant("t"), "answers": {"text": tf.constant(["Hume Highway"]),
                                                     "answer_start": tf.constant([CONTEXT.index("Hume Highway")])}}
    splits = {"train": [record], "validation": [record]}
    train = SquadV1Processor().get_examples_from_dataset(splits)[0]
    assert (train.answer_text, train.start_position_character, train.answers) == (
        "Hume Highway", CONTEXT.index("Hume Highway"), [])
    dev = SquadV1Processor().get_examples_from_dataset(splits, evaluate=True)[0]
    assert dev.answer_text is None and dev.answers == [{"text": "Hume Highway",
                                                        "answer_start": CONTEXT.index("Hume Highway")}]
