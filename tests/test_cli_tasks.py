"""`tuneformers train / evaluate / predict` for token classification, question answering and multiple choice,
end to end on small slices of real news text (the Lee corpus), with a tiny random BERT that uses
all-MiniLM-L6-v2's real tokenizer. Labels are derived from the text itself:

* token classification: runs of capitalised words that do not start a sentence are CAP entities (IOB2);
* QA: the question is a sentence of the document with three of its words replaced by "what"; the
  answer is those three words in the document;
* multiple choice: after a sentence, choose the sentence that follows it among it and 3 others.
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil

import pytest

torch = pytest.importorskip("torch")

from tuneformers import BertConfig, BertModel  # noqa: E402
from tuneformers.cli.main import main  # noqa: E402
from tuneformers.cli.tasks import detect_task  # noqa: E402

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
FAST = ["--max_steps", "2", "--per_device_train_batch_size", "4", "--no_plot", "--disable_tqdm", "--eval_steps", "1",
        "--logging_steps", "1"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, minilm_dir):
    folder = tmp_path_factory.mktemp("tiny_base")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=37, max_position_embeddings=512)).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        if (minilm_dir / name).is_file():
            shutil.copy(minilm_dir / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def lee_sentences(lee_dir) -> list[list[str]]:
    documents = (lee_dir / "lee.cor").read_text(encoding="latin-1").splitlines()[:20]
    sentences = [s for d in documents for s in re.split(r"(?<=\.) ", d)]
    return [re.findall(r"\w+|[^\w\s]", s) for s in sentences if len(s.split()) > 4]


@pytest.fixture(scope="module")
def data(tmp_path_factory, lee_sentences, lee_dir):
    folder = tmp_path_factory.mktemp("task_data")
    for split, part in (("train", lee_sentences[:40]), ("dev", lee_sentences[40:52])):
        with open(folder / f"names_{split}.conll", "w") as handle:
            handle.write("-DOCSTART- O\n\n")
            for words in part:
                previous = "O"
                for index, word in enumerate(words):
                    tag = "O" if index == 0 or not word[0].isupper() else ("I-CAP" if previous != "O" else "B-CAP")
                    handle.write(f"{word} {tag}\n")
                    previous = tag
                handle.write("\n")
    documents = (lee_dir / "lee.cor").read_text(encoding="latin-1").splitlines()[:12]
    rng = random.Random(0)
    for split, docs in (("train", documents[:9]), ("dev", documents[9:])):
        qas = []
        for number, context in enumerate(docs):
            for k in range(3):
                match = rng.choice(list(re.finditer(r"\w+ \w+ \w+", context)))
                sentence_start = context.rfind(". ", 0, match.start()) + 2
                sentence_end = context.find(".", match.end())
                question = context[sentence_start:match.start()] + "what" + context[match.end():sentence_end] + "?"
                qas.append({"id": f"{split}{number}-{k}", "question": question, "context": context,
                            "answers": [{"text": match.group(), "answer_start": match.start()}]})
        (folder / f"qa_{split}.jsonl").write_text("\n".join(json.dumps(q) for q in qas) + "\n")
    texts = [" ".join(words) for words in lee_sentences]
    for split, indices in (("train", range(0, 24)), ("dev", range(30, 38))):
        rows = []
        for i in indices:
            choices = [texts[(i + 7 * k) % len(texts)] for k in (2, 3, 4)]
            label = i % 4
            choices.insert(label, texts[i + 1])
            rows.append({"sent1": texts[i], "sent2": "", **{f"ending{k}": c for k, c in enumerate(choices)},
                         "label": label})
        with open(folder / f"swag_{split}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_detect_task(data):
    assert detect_task(data / "names_train.conll") == "token-classification"
    assert detect_task(data / "qa_train.jsonl") == "question-answering"
    assert detect_task(data / "swag_train.csv") == "multiple-choice"


@pytest.mark.parametrize("task,train_file,dev_file,metric", [
    ("token-classification", "names_train.conll", "names_dev.conll", "eval_f1"),
    ("question-answering", "qa_train.jsonl", "qa_dev.jsonl", "eval_exact_match"),
    ("multiple-choice", "swag_train.csv", "swag_dev.csv", "eval_accuracy"),
])
def test_train_evaluate_predict(capsys, tmp_path, data, tiny_model_dir, task, train_file, dev_file, metric):
    out = tmp_path / "model"
    extra = ["--max_length", "96", "--doc_stride", "32"] if task == "question-answering" else []
    code, stdout, stderr = run(capsys, "train", "--model", tiny_model_dir, "--train_file", data / train_file,
                               "--validation_file", data / dev_file, "--output_dir", out, *FAST, *extra)
    assert code == 0, stderr
    assert f"for {task}" in stdout  # auto-detected from the file
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == task and 0 <= metrics[metric] <= (100 if "exact" in metric else 1)
    code, stdout, stderr = run(capsys, "evaluate", out, data / dev_file, "--output", tmp_path / "eval.json", *extra)
    assert code == 0, stderr
    assert json.loads((tmp_path / "eval.json").read_text())[metric] == pytest.approx(metrics[metric])
    code, stdout, stderr = run(capsys, "predict", out, data / dev_file, "--output", tmp_path / "pred.jsonl", *extra)
    assert code == 0, stderr
    predictions = [json.loads(line) for line in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert predictions
    check_predictions(task, predictions)


def check_predictions(task, predictions):
    if task == "token-classification":
        for record in predictions:
            assert len(record["predicted_tags"]) == len(record["tokens"])
            for entity in record["entities"]:
                assert record["text"][entity["start"]:entity["end"]] == entity["word"]
    elif task == "question-answering":
        for record in predictions:
            assert isinstance(record["answer"], str) and 0 <= record["score"] <= 1
            assert record["n_best"][0]["text"] == record["answer"]
    else:
        for record in predictions:
            assert record["predicted_choice"] == record["choices"][record["predicted_label"]]
            assert sum(record["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_bad_conll_line_is_reported_with_file_and_line(capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "bad.conll"
    path.write_text("EU B-ORG\nrejects O\n\nGerman JJ B-MISC\n")
    code, _, stderr = run(capsys, "train", "--model", tiny_model_dir, "--train_file", path, "--output_dir",
                          tmp_path / "m", *FAST)
    assert code == 2 and "bad.conll, line 4: 3 columns" in stderr


def test_answer_not_in_context_is_reported(capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "Who?", "context": "Peter visited Paris.", "answers": ["Rome"]}) + "\n")
    code, _, stderr = run(capsys, "train", "--model", tiny_model_dir, "--train_file", path, "--output_dir",
                          tmp_path / "m", *FAST)
    assert code == 2 and "qa.jsonl, line 1: answer 'Rome' is not in its context" in stderr


def test_varying_choice_count_needs_pad_choices(capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "mc.jsonl"
    rows = [{"context": f"c{i}", "choices": ["a", "b", "c"][: 2 + i % 2], "label": 1} for i in range(8)]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    code, _, stderr = run(capsys, "train", "--model", tiny_model_dir, "--train_file", path, "--output_dir",
                          tmp_path / "m", *FAST)
    assert code == 2 and "mc.jsonl, line 2: 3 choices, but the first example has 2" in stderr
    code, _, stderr = run(capsys, "train", "--model", tiny_model_dir, "--train_file", path, "--output_dir",
                          tmp_path / "m", "--pad_choices", "--validation_fraction", "0.25", *FAST)
    assert code == 0, stderr


def test_label_outside_the_models_labels_is_reported(capsys, tmp_path, data, tiny_model_dir):
    out = tmp_path / "model"
    assert run(capsys, "train", "--model", tiny_model_dir, "--train_file", data / "names_train.conll",
               "--validation_fraction", "0", "--output_dir", out, *FAST)[0] == 0
    path = tmp_path / "other.conll"
    path.write_text("Peter B-PER\nvisited O\n")
    code, _, stderr = run(capsys, "evaluate", out, path)
    assert code == 2 and "other.conll, line 1: tag 'B-PER'" in stderr and "not in the label list" in stderr


def test_squad_v2_file_and_pipeline_on_a_trained_qa_model(capsys, tmp_path, data, tiny_model_dir):
    from tuneformers import pipeline

    out = tmp_path / "qa_model"
    assert run(capsys, "train", "--model", tiny_model_dir, "--train_file", data / "qa_train.jsonl", "--max_length", "96",
               "--validation_fraction", "0", "--output_dir", out, *FAST)[0] == 0
    questions = [json.loads(line) for line in (data / "qa_dev.jsonl").read_text().splitlines()]
    qas = [{"id": q["id"], "question": q["question"], "answers": q["answers"]} for q in questions[:2]]
    qas.append({"id": "none", "question": "Who won the 1930 World Cup?", "answers": [], "is_impossible": True})
    squad = {"version": "v2.0", "data": [{"title": "lee", "paragraphs": [{"context": questions[0]["context"],
                                                                          "qas": qas}]}]}
    (tmp_path / "dev-v2.json").write_text(json.dumps(squad))
    code, _, stderr = run(capsys, "evaluate", out, tmp_path / "dev-v2.json", "--max_length", "96", "--output",
                          tmp_path / "m.json")
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert (metrics["eval_HasAns_total"], metrics["eval_NoAns_total"]) == (2, 1)
    answer = pipeline("question-answering", model=out)(question=questions[0]["question"],
                                                       context=questions[0]["context"])
    assert questions[0]["context"][answer["start"]:answer["end"]] == answer["answer"]
