"""Script tier: programs shaped like Hugging Face's example scripts (ours, making the same calls in the same
order) run end to end against tuneformers on real local data in the formats those scripts read (built by
hf_scripts/local_data.py), and the metric files they write are checked. The run_glue one fine-tunes the real
MiniLM checkpoint; the others train a tiny random BERT on MiniLM's vocabulary for a few steps, so they test the
calls and the files, not the learning."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import tuneformers

SCRIPTS = Path(__file__).parent / "hf_scripts"
sys.path.insert(0, str(SCRIPTS))
import local_data  # noqa: E402
from local_data import write_sst2_tsv as write_sst2  # noqa: E402

COMMON = ["--no_cuda", "--seed", "1", "--report_to", "none", "--disable_tqdm", "--overwrite_output_dir"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, minilm_dir) -> Path:
    """A tiny random BERT (hidden 32, 2 layers, STYLE.md's sizes) with MiniLM's tokenizer and vocabulary."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    config = tuneformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                    intermediate_size=37, max_position_embeddings=128)
    tuneformers.BertForMaskedLM(config).save_pretrained(folder)
    tuneformers.AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(folder)
    return folder


def run_script(name: str, *arguments: str, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, arguments)], capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def read_results(path: Path) -> dict[str, float]:
    return {key: float(value) for key, value in (line.split(" = ") for line in path.read_text().splitlines())}


@pytest.mark.slow
def test_run_glue_v3_style_fine_tunes_minilm_on_sst2_files(tmp_path, minilm_dir):
    dev_labels = write_sst2(tmp_path / "SST-2", n_train=400, n_dev=100, n_test=16)
    out = tmp_path / "out"
    command = [sys.executable, str(SCRIPTS / "run_glue_v3_style.py"), "--model_name_or_path", str(minilm_dir),
               "--task_name", "SST-2", "--data_dir", str(tmp_path / "SST-2"), "--do_train", "--do_eval",
               "--do_predict", "--max_seq_length", "64", "--per_gpu_train_batch_size", "16",
               "--per_device_eval_batch_size", "64", "--learning_rate", "1e-4", "--num_train_epochs", "2",
               "--output_dir", str(out), "--save_steps", "1000", "--logging_steps", "25", "--evaluate_during_training",
               "--no_cuda", "--seed", "1", "--report_to", "none", "--disable_tqdm"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "per_gpu_train_batch_size is deprecated" in result.stderr and "device: cpu, n_gpu: 0" in result.stderr
    results = dict(line.split(" = ") for line in (out / "eval_results_sst-2.txt").read_text().splitlines())
    majority = max(dev_labels.count(0), dev_labels.count(1)) / len(dev_labels)
    assert float(results["eval_acc"]) > majority + 0.1, (results, majority)
    predictions = (out / "test_results_sst-2.txt").read_text().splitlines()
    assert predictions[0] == "index\tprediction" and len(predictions) == 17
    assert {line.split("\t")[1] for line in predictions[1:]} <= {"0", "1"}
    reloaded = tuneformers.AutoModelForSequenceClassification.from_pretrained(str(out))
    assert reloaded.config.finetuning_task == "sst-2" and (out / "vocab.txt").is_file()


@pytest.mark.slow
def test_run_language_modeling_v3_style_is_repeatable_with_a_seed(tmp_path, tiny_model_dir):
    local_data.write_text_lines(tmp_path / "text", n_train=96, n_dev=24)
    perplexities = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        run_script("run_language_modeling_v3_style.py", "--model_type", "bert", "--model_name_or_path", tiny_model_dir,
                   "--train_data_file", tmp_path / "text/train.txt", "--eval_data_file", tmp_path / "text/valid.txt",
                   "--line_by_line", "--mlm", "--do_train", "--do_eval", "--block_size", "48",
                   "--per_device_train_batch_size", "16", "--max_steps", "3", "--output_dir", out, *COMMON)
        perplexities.append(read_results(out / "eval_results_lm.txt")["perplexity"])
    assert perplexities[0] == perplexities[1]  # masks follow set_seed
    assert 1 < perplexities[0] < 2 * 30522  # a random 30522-word model: about the vocabulary size
    assert (tmp_path / "out0" / "vocab.txt").is_file()


@pytest.mark.slow
def test_run_ner_v3_style_writes_entity_scores_and_one_prediction_per_word(tmp_path, tiny_model_dir):
    data = tmp_path / "conll"
    local_data.write_conll(data, n_train=96, n_dev=24)
    out = tmp_path / "out"
    run_script("run_ner_v3_style.py", "--model_name_or_path", tiny_model_dir, "--data_dir", data, "--labels",
               data / "labels.txt", "--max_seq_length", "48", "--do_train", "--do_eval", "--do_predict",
               "--per_device_train_batch_size", "16", "--learning_rate", "1e-3", "--max_steps", "6",
               "--output_dir", out, *COMMON)
    for name in ("eval_results.txt", "test_results.txt"):
        scores = read_results(out / name)
        prefix = name.split("_")[0] if name.startswith("test") else "eval"
        assert all(0 <= scores[f"{prefix}_{key}"] <= 1 for key in ("precision", "recall", "f1")), scores
    words = [line.split()[0] for line in (data / "test.txt").read_text().splitlines()[2:] if line.strip()]
    predicted = [line.split() for line in (out / "test_predictions.txt").read_text().splitlines() if line.strip()]
    assert [word for word, _ in predicted] == words
    assert {tag for _, tag in predicted} <= {"O", "B-NAME", "I-NAME"}
    assert tuneformers.AutoConfig.from_pretrained(out).id2label == {0: "O", 1: "B-NAME", 2: "I-NAME"}


@pytest.mark.slow
def test_run_multiple_choice_v3_style_reports_accuracy_and_crops_long_choices(tmp_path, tiny_model_dir):
    local_data.write_swag(tmp_path / "swag", n_train=48, n_dev=24)
    out = tmp_path / "out"
    result = run_script("run_multiple_choice_v3_style.py", "--task_name", "swag", "--model_name_or_path",
                        tiny_model_dir, "--data_dir", tmp_path / "swag", "--max_seq_length", "40", "--do_train",
                        "--do_eval", "--per_device_train_batch_size", "8", "--max_steps", "4", "--output_dir", out,
                        *COMMON)
    assert "Cropped" in result.stderr  # num_truncated_tokens came back with longest_first on the pairs
    scores = read_results(out / "eval_results.txt")
    assert 0 <= scores["eval_acc"] <= 1 and scores["eval_acc"] * 24 == round(scores["eval_acc"] * 24)
    assert tuneformers.AutoConfig.from_pretrained(out).finetuning_task == "swag"


@pytest.mark.slow
def test_run_squad_v3_style_writes_predictions_for_every_question_and_scores_them(tmp_path, tiny_model_dir):
    local_data.write_squad(tmp_path / "squad", n_train=24, n_dev=12)
    out = tmp_path / "out"
    run_script("run_squad_v3_style.py", "--model_type", "bert", "--model_name_or_path", tiny_model_dir,
               "--do_train", "--do_eval", "--do_lower_case", "--data_dir", tmp_path / "squad",
               "--train_file", "train-v1.1.json", "--predict_file", "dev-v1.1.json", "--max_seq_length", "96",
               "--doc_stride", "48", "--per_gpu_train_batch_size", "16", "--per_gpu_eval_batch_size", "64",
               "--max_steps", "4", "--output_dir", out, "--no_cuda", "--seed", "1")
    questions = {qa["id"]: qa for paragraph in json.loads((tmp_path / "squad/dev-v1.1.json").read_text())["data"][0]
                 ["paragraphs"] for qa in paragraph["qas"]}
    predictions = json.loads((out / "predictions_.json").read_text())
    assert set(predictions) == set(questions) and all(isinstance(text, str) for text in predictions.values())
    nbest = json.loads((out / "nbest_predictions_.json").read_text())
    assert all(math.isclose(sum(entry["probability"] for entry in entries), 1.0, rel_tol=1e-6)
               for entries in nbest.values())
    results = json.loads((out / "eval_results.json").read_text())
    assert results["total"] == len(questions) and 0 <= results["exact"] <= results["f1"] <= 100


@pytest.mark.slow
def test_run_glue_v4_style_from_a_json_file_resumes_from_the_model_folder_at_step_zero(tmp_path, tiny_model_dir):
    dev_labels = local_data.write_sst2_csv(tmp_path / "csv", n_train=64, n_dev=32)
    (tmp_path / "csv/test.csv").write_text((tmp_path / "csv/validation.csv").read_text())
    out = tmp_path / "out"
    arguments = {"model_name_or_path": str(tiny_model_dir), "train_file": str(tmp_path / "csv/train.csv"),
                 "validation_file": str(tmp_path / "csv/validation.csv"), "test_file": str(tmp_path / "csv/test.csv"),
                 "do_train": True, "do_eval": True, "do_predict": True, "max_seq_length": 48,
                 "per_device_train_batch_size": 16, "max_steps": 4, "output_dir": str(out), "no_cuda": True,
                 "seed": 1, "report_to": "none", "disable_tqdm": True}
    (tmp_path / "args.json").write_text(json.dumps(arguments))
    result = run_script("run_glue_v4_style.py", tmp_path / "args.json")
    assert "Sample" in result.stdout and "device: cpu, n_gpu: 0" in result.stdout
    assert read_results(out / "train_results.txt")["train_loss"] > 0
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 4  # a model folder starts at 0
    assert 0 <= read_results(out / "eval_results_csv.txt")["eval_accuracy"] <= 1
    predictions = (out / "test_results_csv.txt").read_text().splitlines()
    assert predictions[0] == "index\tprediction" and len(predictions) == len(dev_labels) + 1
    assert (out / "tokenizer_config.json").is_file()  # Trainer(tokenizer=...) saves it with the model


@pytest.mark.slow
@pytest.mark.tf
def test_run_tf_glue_v3_style_trains_under_the_strategy_scope_and_writes_eval_results(tmp_path, tiny_model_dir):
    dev_labels = write_sst2(tmp_path / "SST-2", n_train=64, n_dev=32, n_test=0)
    out = tmp_path / "out"
    result = run_script("run_tf_glue_v3_style.py", "--model_name_or_path", tiny_model_dir, "--task_name", "sst-2",
                        "--data_dir", tmp_path / "SST-2", "--do_train", "--do_eval", "--max_seq_length", "48",
                        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "32",
                        "--max_steps", "4", "--output_dir", out, "--seed", "1", "--overwrite_output_dir")
    assert "n_replicas: 1" in result.stderr
    accuracy = read_results(out / "eval_results.txt")["eval_acc"]
    assert 0 <= accuracy <= 1 and accuracy * len(dev_labels) == pytest.approx(round(accuracy * len(dev_labels)))
    assert (out / "tf_model.h5").is_file() and (out / "vocab.txt").is_file()
