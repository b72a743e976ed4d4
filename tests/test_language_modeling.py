"""Language modelling: seeded masking (#10), whole-word masking against HF, tokenizer training, text datasets
and their streaming cache, masked-LM models from a config, perplexity / top-k metrics, and the CLI commands."""

from __future__ import annotations

import bz2
import copy
import gzip
import importlib.util
import json
import math
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from tuneformers import (AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM, BertTokenizerFast,
                         DataCollatorForLanguageModeling, DataCollatorForWholeWordMask, LineByLineTextDataset,
                         TextDataset, Trainer, TrainingArguments, compute_mlm_metrics, group_texts,
                         mlm_logits_for_metrics, read_texts, set_seed)
from tuneformers.cli.main import main as cli_main
from tuneformers.trainer.trainer import EvalPrediction

CORPUS = [
    "The river flows through the old town and under seven stone bridges.",
    "A small bakery on the corner sells fresh bread every morning.",
    "Students gathered in the library to prepare for their final examinations.",
    "The orchestra performed a symphony that nobody in the audience had heard before.",
    "Heavy rain flooded the streets, and the buses stopped running until noon.",
    "She painted the kitchen walls a pale shade of yellow last summer.",
] * 40

SENTENCES = ["the film is a charming, funny ride", "an overlong and tedious exercise in style over substance",
             "unbelievably well-crafted storytelling doesn't disappoint", "dull"]


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(CORPUS) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_tokenizer():
    from tuneformers.models.bert.tokenization_bert_fast import train_bert_tokenizer

    return train_bert_tokenizer(CORPUS, vocab_size=200, min_frequency=1)


# ------------------------------------------------------------------------------ masking follows the seed (#10)


def test_mlm_masks_follow_set_seed_without_a_collator_seed(tokenizer):
    features = [dict(tokenizer(text)) for text in SENTENCES]

    def masks(seed):
        set_seed(seed)
        collator = DataCollatorForLanguageModeling(tokenizer, return_tensors="np")  # no seed: the global RNG
        return [collator(copy.deepcopy(features))["labels"] for _ in range(3)]

    first, again, other = masks(0), masks(0), masks(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert not np.array_equal(first[0], first[1])  # successive batches still differ


def test_mlm_masks_per_dataloader_worker_repeat_and_differ_between_workers(tokenizer):
    features = [dict(tokenizer("the same sentence in every example, long enough to mask a few words"))] * 8

    def run(collator):
        loader = torch.utils.data.DataLoader(features, batch_size=4, num_workers=2, collate_fn=collator,
                                             generator=torch.Generator().manual_seed(0))
        return [batch["labels"] for batch in loader]

    for make in (lambda: DataCollatorForLanguageModeling(tokenizer), lambda: DataCollatorForLanguageModeling(tokenizer, seed=5)):
        first, second = run(make()), run(make())
        assert all(torch.equal(a, b) for a, b in zip(first, second))
        assert not torch.equal(first[0], first[1])  # batch 0 and 1 come from different workers


def test_mlm_uses_a_given_generator(tokenizer):
    features = [dict(tokenizer(text)) for text in SENTENCES]
    a = DataCollatorForLanguageModeling(tokenizer, generator=np.random.default_rng(7))(copy.deepcopy(features))
    b = DataCollatorForLanguageModeling(tokenizer, seed=7)(copy.deepcopy(features))
    assert torch.equal(a["labels"], b["labels"]) and torch.equal(a["input_ids"], b["input_ids"])
    with pytest.raises(ValueError, match="mask_replace_prob \\+ random_replace_prob"):
        DataCollatorForLanguageModeling(tokenizer, mask_replace_prob=0.9, random_replace_prob=0.2)


# --------------------------------------------------------------------------------------- whole-word masking


def _words_of(tokenizer, ids):
    """Word number of each position by '##' pieces (-1 for special tokens and padding)."""
    words, current = [], -1
    for token in tokenizer.convert_ids_to_tokens(ids):
        if token in tokenizer.all_special_tokens:
            words.append(-1)
            continue
        if not token.startswith("##"):
            current += 1
        words.append(current)
    return np.array(words)


def test_whole_word_mask_masks_whole_words_at_the_right_rate(tokenizer):
    text = "unbelievably tokenization of extraordinarily uncharacteristic words " * 6
    features = [dict(tokenizer(text))] * 16
    collator = DataCollatorForWholeWordMask(tokenizer, mlm_probability=0.2, seed=0, return_tensors="np")
    word_rate = []
    for _ in range(20):
        batch = collator(copy.deepcopy(features))
        for row_labels, row_ids in zip(batch["labels"], np.array([f["input_ids"] for f in features])):
            words = _words_of(tokenizer, row_ids)
            picked = row_labels != -100
            assert not picked[words == -1].any()
            for word in range(words.max() + 1):  # every piece of a word, or none
                assert len(set(picked[words == word])) == 1
            word_rate.append(np.mean([picked[words == word][0] for word in range(words.max() + 1)]))
            assert (row_labels[picked] == row_ids[picked]).all()
    assert abs(np.mean(word_rate) - 0.2) < 0.02


def test_whole_word_mask_matches_hf_word_boundaries_and_rates(tokenizer):
    transformers = pytest.importorskip("transformers")
    hf_tok = transformers.BertTokenizerFast.from_pretrained(tokenizer.name_or_path)
    texts = ["unbelievably well-crafted storytelling, doesn't it?", "the film is a charming, funny ride"] * 32
    hf_batch = hf_tok(texts, padding=True, return_offsets_mapping=True, return_special_tokens_mask=True,
                      return_tensors="np")
    hf_word_ids, hf_prob_mask = transformers.DataCollatorForLanguageModeling._calc_word_ids_and_prob_mask(
        hf_batch["offset_mapping"], hf_batch["special_tokens_mask"])
    ours = DataCollatorForWholeWordMask(tokenizer, seed=0)
    never = ours._special_positions(hf_batch["input_ids"], hf_batch["special_tokens_mask"])
    starts = ours.word_starts(hf_batch["input_ids"], never, list(hf_batch["offset_mapping"]))
    assert np.array_equal(starts, ~hf_prob_mask & ~hf_batch["special_tokens_mask"].astype(bool))
    assert np.array_equal(np.cumsum(starts, axis=1)[~never], hf_word_ids[~never])
    # the same statistics over many draws: the share of real tokens picked
    features = [{key: hf_batch[key][row].tolist() for key in ("input_ids", "attention_mask", "offset_mapping",
                                                              "special_tokens_mask")} for row in range(len(texts))]
    real = (1 - hf_batch["special_tokens_mask"]).sum() * 30
    hf = transformers.DataCollatorForLanguageModeling(hf_tok, whole_word_mask=True, mlm_probability=0.3, seed=0,
                                                      return_tensors="np")
    ours = DataCollatorForWholeWordMask(tokenizer, mlm_probability=0.3, seed=0, return_tensors="np")
    rates = {name: sum((collator(copy.deepcopy(features))["labels"] != -100).sum() for _ in range(30)) / real
             for name, collator in (("hf", hf), ("ours", ours))}
    assert abs(rates["hf"] - rates["ours"]) < 0.03 and abs(rates["ours"] - 0.3) < 0.03, rates


# ---------------------------------------------------------------------------------------- tokenizer training


def test_train_new_from_iterator_gives_a_folder_hf_loads_identically(tokenizer, tmp_path):
    transformers = pytest.importorskip("transformers")
    new = tokenizer.train_new_from_iterator(iter(CORPUS), vocab_size=300)
    assert 50 < len(new) <= 300 and new.get_vocab()["[PAD]"] == 0 and new.do_lower_case
    assert new.tokenize("The river flows") == ["the", "river", "flows"]
    new.save_pretrained(tmp_path)
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    texts = CORPUS[:6] + ["Completely unseen words: zygote, quixotic!"]
    assert new(texts)["input_ids"] == hf(texts)["input_ids"]
    assert BertTokenizerFast.from_pretrained(tmp_path)(texts)["input_ids"] == hf(texts)["input_ids"]
    with pytest.raises(TypeError, match="item 0 is int"):
        tokenizer.train_new_from_iterator([1, 2], vocab_size=300)
    with pytest.raises(ValueError, match="vocab_size=3 leaves no room"):
        tokenizer.train_new_from_iterator(CORPUS, vocab_size=3)


# ------------------------------------------------------------------------------------------ text datasets


def test_read_texts_formats_and_errors(tmp_path):
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress("one\n\n two \n".encode()))
    assert list(read_texts(tmp_path / "a.txt.gz")) == ["one", "two"]
    (tmp_path / "b.jsonl.bz2").write_bytes(bz2.compress(b'{"body": "x y"}\n\n{"body": "z"}\n'))
    assert list(read_texts(tmp_path / "b.jsonl.bz2", text_column="body")) == ["x y", "z"]
    (tmp_path / "c.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(ValueError, match=r"c.jsonl, line 2: no 'text' field \(found: \['body'\]\)"):
        list(read_texts(tmp_path / "c.jsonl"))
    (tmp_path / "d.jsonl").write_text('{"text": "ok"}\n{oops\n')
    with pytest.raises(ValueError, match="d.jsonl, line 2: not valid JSON"):
        list(read_texts(tmp_path / "d.jsonl"))
    (tmp_path / "e.csv").write_text("text\nx\n")
    with pytest.raises(ValueError, match="use a .txt file"):
        list(read_texts(tmp_path / "e.csv"))


def test_group_texts_packs_and_drops_the_remainder():
    packed = group_texts({"input_ids": [[1, 2, 3], [4, 5], [6, 7, 8, 9]], "attention_mask": [[1] * 3, [1] * 2, [1] * 4]}, 4)
    assert packed == {"input_ids": [[1, 2, 3, 4], [5, 6, 7, 8]], "attention_mask": [[1] * 4, [1] * 4]}


def test_text_dataset_blocks_are_the_packed_token_stream(small_tokenizer, corpus_file, tmp_path):
    dataset = TextDataset(small_tokenizer, corpus_file, block_size=16, cache_dir=tmp_path)
    stream = [i for text in CORPUS for i in small_tokenizer(text, add_special_tokens=False)["input_ids"]]
    expected = group_texts({"input_ids": [stream]}, 14)["input_ids"]
    assert len(dataset) == len(expected)
    for index in (0, 7, len(dataset) - 1):
        assert dataset[index]["input_ids"] == small_tokenizer.build_inputs_with_special_tokens(expected[index])
    cache_files = sorted(tmp_path.iterdir())
    stamps = [path.stat().st_mtime_ns for path in cache_files]
    assert len(TextDataset(small_tokenizer, corpus_file, block_size=16, cache_dir=tmp_path)) == len(dataset)
    assert [path.stat().st_mtime_ns for path in sorted(tmp_path.iterdir())] == stamps  # the cache was reused
    train, held_out = dataset.train_validation_split(0.1)
    assert len(train) + len(held_out) == len(dataset) and held_out[0] == dataset[9]
    assert train.select([0])[0] == dataset[0]


def test_processes_that_build_the_same_cache_at_once_tokenize_it_once(small_tokenizer, corpus_file, tmp_path,
                                                                      monkeypatch):
    """As the processes of a distributed run do: one builds under the file lock, the others wait and read it."""
    import threading
    import time

    from tuneformers.data import language_modeling

    writes = []
    original = language_modeling._TokenCache._write

    def slow_write(*args):
        writes.append(threading.get_ident())
        time.sleep(0.5)
        original(*args)

    monkeypatch.setattr(language_modeling._TokenCache, "_write", staticmethod(slow_write))
    built = []
    threads = [threading.Thread(target=lambda: built.append(TextDataset(small_tokenizer, corpus_file, 16,
                                                                        cache_dir=tmp_path)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writes) == 1 and len(built) == 3
    assert len({len(dataset) for dataset in built}) == 1 and built[0][3] == built[2][3]


def test_line_by_line_dataset_truncates_each_line(small_tokenizer, corpus_file, tmp_path):
    dataset = LineByLineTextDataset(small_tokenizer, corpus_file, block_size=8, cache_dir=tmp_path)
    assert len(dataset) == len(CORPUS)
    expected = small_tokenizer(CORPUS[3], truncation=True, max_length=8)["input_ids"]
    assert dataset[3]["input_ids"] == expected and dataset[-1] == dataset[len(CORPUS) - 1]
    with pytest.raises(IndexError):
        dataset[len(CORPUS)]
    with pytest.raises(ValueError, match="block_size=2 is too small"):
        LineByLineTextDataset(small_tokenizer, corpus_file, block_size=2, cache_dir=tmp_path)


STREAMING_CHECK = textwrap.dedent("""
    import resource, sys
    from tuneformers.models.bert.tokenization_bert_fast import BertTokenizerFast
    from tuneformers.data.language_modeling import TextDataset
    corpus, folder, budget_mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    tokenizer.backend_tokenizer.encode_batch(["warm up the tokenizer"] * 2000)
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = peak_mb()
    blocks = TextDataset(tokenizer, corpus, 128, cache_dir=folder + "/cache")
    for index in range(0, len(blocks), 7):
        assert len(blocks[index]["input_ids"]) == 128
    grown = peak_mb() - before
    assert grown < budget_mb, f"peak memory grew by {grown:.1f} MB, over the {budget_mb} MB budget"
    print(len(blocks), round(grown, 1))
""")


def test_text_datasets_stream_a_file_larger_than_the_memory_budget(tokenizer, tmp_path):
    """A 10 MB corpus, a 6 MB budget for the growth of peak memory: the text is never held whole."""
    tokenizer.save_pretrained(tmp_path)
    corpus = tmp_path / "big.txt"
    line = "understanding " * 99 + "understanding\n"
    with open(corpus, "w") as handle:
        for _ in range(10 * 2**20 // len(line)):
            handle.write(line)
    budget = 6
    assert corpus.stat().st_size > budget * 2**20 * 1.5
    result = subprocess.run([sys.executable, "-c", STREAMING_CHECK, str(corpus), str(tmp_path), str(budget)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    blocks, grown = result.stdout.split()
    assert int(blocks) == corpus.stat().st_size // len(line) * 100 // 126, grown


# ---------------------------------------------------------------------------------------- models and metrics


def test_masked_lm_from_config_is_initialised_and_tied(tiny_bert_kwargs):
    torch.manual_seed(0)
    config = BertConfig(**{**tiny_bert_kwargs, "vocab_size": 1000, "hidden_size": 64})
    model = AutoModelForMaskedLM.from_config(config)
    assert type(model) is BertForMaskedLM
    weights = dict(model.named_parameters())
    for name, weight in weights.items():
        if name.endswith("LayerNorm.weight"):
            assert torch.all(weight == 1), name
        elif name.endswith("bias"):
            assert torch.all(weight == 0), name
        else:
            assert abs(weight.std().item() - config.initializer_range) < 0.004, name
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    ids = torch.randint(5, 1000, (4, 32))
    loss = model(input_ids=ids, labels=ids).loss.item()
    assert abs(loss - math.log(1000)) < 0.1  # a fresh model guesses uniformly: perplexity ~ vocabulary size


def test_mlm_metrics_match_a_direct_computation_and_exp_of_the_eval_loss(small_tokenizer, corpus_file, tmp_path,
                                                                         tiny_bert_kwargs):
    logits = torch.randn(3, 5, 11)
    labels = torch.tensor([[-100, 2, -100, 7, -100], [1, -100, -100, -100, 10], [-100] * 5])
    top, log_prob = mlm_logits_for_metrics(logits, labels, top_k=3)
    metrics = compute_mlm_metrics(EvalPrediction((top.numpy(), log_prob.numpy()), labels.numpy()))
    chosen = labels != -100
    loss = torch.nn.functional.cross_entropy(logits[chosen], labels[chosen])
    assert metrics["perplexity"] == pytest.approx(math.exp(loss.item()), rel=1e-5)
    assert metrics["accuracy"] == (logits[chosen].argmax(-1) == labels[chosen]).float().mean().item()
    in_top3 = (logits[chosen].topk(3).indices == labels[chosen][:, None]).any(-1).float().mean().item()
    assert metrics["top3_accuracy"] == in_top3

    dataset = TextDataset(small_tokenizer, corpus_file, block_size=32, cache_dir=tmp_path)
    model = BertForMaskedLM(BertConfig(**{**tiny_bert_kwargs, "vocab_size": len(small_tokenizer)}))
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", disable_tqdm=True, seed=3)
    trainer = Trainer(model, args, data_collator=DataCollatorForLanguageModeling(small_tokenizer), eval_dataset=dataset,
                      compute_metrics=compute_mlm_metrics, preprocess_logits_for_metrics=mlm_logits_for_metrics)
    result = trainer.evaluate()
    assert result["eval_perplexity"] == pytest.approx(math.exp(result["eval_loss"]), rel=1e-4)
    assert {"eval_accuracy", "eval_top5_accuracy"} <= set(result)
    assert trainer.state.log_history[-1]["eval_perplexity"] == result["eval_perplexity"]


# ------------------------------------------------------------------------------------------------ the CLI


def test_cli_pretrains_from_scratch_and_hf_loads_the_folder(corpus_file, tmp_path, capsys):
    out = tmp_path / "model"
    code = cli_main(["pretrain", "--train_file", str(corpus_file), "--config_name", "bert", "--vocab_size", "150",
                     "--min_frequency", "1", "--hidden_size", "32", "--num_hidden_layers", "2",
                     "--num_attention_heads", "4", "--intermediate_size", "37", "--block_size", "32",
                     "--validation_fraction", "0.1", "--max_steps", "24", "--eval_steps", "12", "--learning_rate", "5e-3",
                     "--per_device_train_batch_size", "16",
                     "--output_dir", str(out), "--report_to", "none", "--disable_tqdm", "--no_plot"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["hidden_dropout_prob"] == 0.0  # the from-scratch default
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_perplexity_before"] > 0.5 * metrics["vocab_size"]  # a fresh model: ~ vocabulary size
    assert metrics["eval_perplexity"] < 0.8 * metrics["eval_perplexity_before"]
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    steps = [l["step"] for l in history if "eval_perplexity" in l]
    assert steps[0] == 0 and 12 in steps and steps[-1] == 24, steps  # the curve the plot draws

    transformers = pytest.importorskip("transformers")
    texts = ["the river flows under the [MASK] bridges", "fresh bread"]
    ours_tok = BertTokenizerFast.from_pretrained(out)
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(out))
    batch = ours_tok(texts, padding=True, return_tensors="pt")
    assert batch["input_ids"].tolist() == hf_tok(texts, padding=True)["input_ids"]
    with torch.no_grad():
        ours = BertForMaskedLM.from_pretrained(out).eval()(**batch).logits
        theirs = transformers.BertForMaskedLM.from_pretrained(str(out)).eval()(**batch).logits
    real = batch["attention_mask"].bool()  # outputs at padding are meaningless in both
    torch.testing.assert_close(ours[real], theirs[real], rtol=1e-4, atol=1e-4)


def test_cli_pretrains_roberta_from_a_config_file_and_hf_loads_the_folder(corpus_file, tmp_path, capsys):
    """--config_name roberta: a byte-level BPE tokenizer and a RoBERTa, with the flags in a --config file."""
    out = tmp_path / "model"
    config = tmp_path / "pretrain.json"
    config.write_text(json.dumps({
        "train_file": str(corpus_file), "config_name": "roberta", "vocab_size": 300, "min_frequency": 1,
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "block_size": 32, "validation_fraction": 0.1, "max_steps": 50, "eval_steps": 24, "learning_rate": 5e-3,
        "per_device_train_batch_size": 16, "report_to": "none", "disable_tqdm": True, "no_plot": True}))
    code = cli_main(["pretrain", "--config", str(config), "--max_steps", "24", "--output_dir", str(out)])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 24  # the explicit flag wins
    assert json.loads((out / "config.json").read_text())["model_type"] == "roberta"
    assert metrics["eval_perplexity"] < 0.8 * metrics["eval_perplexity_before"]
    assert {"vocab.json", "merges.txt", "tokenizer.json"} <= {path.name for path in out.iterdir()}

    transformers = pytest.importorskip("transformers")
    from tuneformers import RobertaForMaskedLM, RobertaTokenizerFast

    texts = ["The river flows under the <mask> bridges.", "Fresh bread, every morning!"]
    ours_tok = RobertaTokenizerFast.from_pretrained(out)
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(out))
    batch = ours_tok(texts, padding=True, return_tensors="pt")
    tokens = ours_tok.convert_ids_to_tokens(batch["input_ids"][0])
    assert tokens[:2] == ["<s>", "The"] and tokens[tokens.index("<mask>") - 1] == "Ġthe"  # the mask takes its space
    assert batch["input_ids"].tolist() == hf_tok(texts, padding=True)["input_ids"]
    with torch.no_grad():
        ours = RobertaForMaskedLM.from_pretrained(out).eval()(**batch).logits
        theirs = transformers.RobertaForMaskedLM.from_pretrained(str(out)).eval()(**batch).logits
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(ours[real], theirs[real], rtol=1e-4, atol=1e-4)


def test_cli_pretrain_and_train_tokenizer_errors_name_the_fix(corpus_file, tmp_path, capsys):
    assert cli_main(["pretrain", "--config_name", "bert", "--output_dir", str(tmp_path)]) == 2
    assert "needs your text: pass --train_file" in capsys.readouterr().err
    assert cli_main(["pretrain", "--train_file", str(tmp_path / "missing.txt"), "--output_dir", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli_main(["train-tokenizer", str(corpus_file), "--vocab_size", "120", "--min_frequency", "1",
                     "--output_dir", str(tmp_path / "tok")]) == 0
    assert len(BertTokenizerFast.from_pretrained(tmp_path / "tok")) <= 120
    assert cli_main(["train-tokenizer", str(corpus_file), "--family", "roberta", "--vocab_size", "300",
                     "--min_frequency", "1", "--output_dir", str(tmp_path / "bpe")]) == 0
    assert "byte-level BPE" in capsys.readouterr().out and (tmp_path / "bpe" / "merges.txt").is_file()
    assert type(AutoTokenizer.from_pretrained(tmp_path / "bpe")).__name__ == "RobertaTokenizerFast"
    assert cli_main(["train-tokenizer", str(corpus_file), "--family", "roberta", "--vocab_size", "100",
                     "--output_dir", str(tmp_path / "bpe2")]) == 2
    assert "vocab_size=100 leaves no room" in capsys.readouterr().err
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("train_file: corpus.txt\nblock_sise: 64\n")
    assert cli_main(["pretrain", "--config", str(bad_config)]) == 2
    assert "unknown setting 'block_sise'" in (err := capsys.readouterr().err) and "block_size" in err


def test_cli_pretrain_defaults_depend_on_the_start(corpus_file, tmp_path):
    """From scratch: 1e-3, 5 passes, batches of 8, 30% masking, evaluation every 500 steps, no dropout; continuing
    a checkpoint: 1e-4, one pass, batches of 32, 15% masking, every 50 steps. A value given on the command line or
    in --config wins either way."""
    from tuneformers.cli.main import parse_args
    from tuneformers.cli.pretrain import apply_start_defaults
    from tuneformers.cli.train import training_arguments

    def resolved(*argv: str) -> tuple[float, float, int, float, int]:
        args = parse_args(["pretrain", "--train_file", str(corpus_file), "--output_dir", str(tmp_path), *argv])
        apply_start_defaults(args)
        training_args = training_arguments(args)
        return (training_args.learning_rate, training_args.num_train_epochs,
                training_args.per_device_train_batch_size, args.mlm_probability, training_args.eval_steps)

    assert resolved("--config_name", "bert") == (1e-3, 5.0, 8, 0.3, 500)
    assert resolved() == (1e-4, 1.0, 32, 0.15, 50)
    assert resolved("--config_name", "roberta", "--learning_rate", "3e-4", "--mlm_probability", "0.15") == (
        3e-4, 5.0, 8, 0.15, 500)
    config = tmp_path / "pretrain.json"
    config.write_text(json.dumps({"config_name": "bert", "num_train_epochs": 2, "per_device_train_batch_size": 16}))
    assert resolved("--config", str(config)) == (1e-3, 2.0, 16, 0.3, 500)
    assert parse_args(["pretrain", "--config_name", "bert"]).dropout == 0.0


@pytest.mark.skipif(importlib.util.find_spec("tuneformers.pipelines") is None,
                    reason="tuneformers.pipelines (the fill-mask pipeline) is not in this tree")
def test_cli_fill_mask(minilm_dir, tmp_path, capsys):
    model = BertForMaskedLM(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                       intermediate_size=37))
    model.save_pretrained(tmp_path)
    BertTokenizerFast.from_pretrained(minilm_dir).save_pretrained(tmp_path)
    assert cli_main(["fill-mask", str(tmp_path), "the film is a [MASK] ride", "--top_k", "3"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if re.fullmatch(r"\S+\s+[0-9.e+-]+", line)]  # token, score
    assert "the film is a [MASK] ride" in table and len(rows) == 3, table


@pytest.mark.slow
def test_cli_pretrain_default_continues_minilm_on_reviews(tmp_path, capsys):
    out = tmp_path / "adapted"
    assert cli_main(["pretrain", "--max_steps", "3", "--max_train_samples", "48", "--max_eval_samples", "16",
                     "--eval_steps", "3", "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "16",
                     "--output_dir", str(out), "--report_to", "none", "--disable_tqdm", "--no_plot"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["vocab_size"] == 30522 and metrics["eval_perplexity"] < metrics["eval_perplexity_before"]
