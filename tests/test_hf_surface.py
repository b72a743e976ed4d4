"""The HF v3/v4 names that scripts call: argument parsing, deprecated spellings, Trainer methods, mappings,
logging, GlueDataset, embeddings resizing. HF transformers 5.x is the oracle where it kept the API."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from typing import Optional

import pytest

torch = pytest.importorskip("torch")

import tuneformers  # noqa: E402
from tuneformers import (BertConfig, BertForMaskedLM, BertForSequenceClassification, GlueDataset,  # noqa: E402
                         GlueDataTrainingArguments, HfArgumentParser, Trainer, TrainingArguments)


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Path to the pretrained model."})
    cache_dir: Optional[str] = dataclasses.field(default=None, metadata={"help": "Where to cache."})
    use_fast: bool = dataclasses.field(default=True, metadata={"help": "Fast tokenizer."})
    freeze: bool = False
    layers: Optional[list] = None


def test_hf_argument_parser_matches_hf_on_script_dataclasses(tmp_path):
    hf = pytest.importorskip("transformers")

    @dataclasses.dataclass
    class Simple:
        model_name_or_path: str = dataclasses.field(metadata={"help": "Path."})
        cache_dir: Optional[str] = None
        use_fast: bool = True
        freeze: bool = False
        max_seq_length: int = 128
        rate: float = 0.5

    argv = ["--model_name_or_path", "m", "--no_use_fast", "--freeze", "--max-seq-length", "64", "--rate", "2"]
    ours = HfArgumentParser(Simple).parse_args_into_dataclasses(argv)
    theirs = hf.HfArgumentParser(Simple).parse_args_into_dataclasses(argv)
    assert ours == theirs == (Simple("m", None, False, True, 64, 2.0),)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"model_name_or_path": "x", "rate": 1}))
    assert HfArgumentParser(Simple).parse_json_file(str(path)) == hf.HfArgumentParser(Simple).parse_json_file(str(path))


def test_hf_argument_parser_splits_flags_between_dataclasses_and_reports_leftovers():
    parser = HfArgumentParser((ModelArguments, TrainingArguments))
    model_args, training_args = parser.parse_args_into_dataclasses(
        ["--model_name_or_path", "m", "--output_dir", "out", "--do_train", "--learning_rate", "3e-5",
         "--evaluate_during_training", "--per_gpu_train_batch_size", "4"])
    assert model_args.model_name_or_path == "m" and model_args.use_fast is True
    assert training_args.do_train and training_args.learning_rate == 3e-5
    assert training_args.eval_strategy == "steps" and training_args.per_device_train_batch_size == 4
    with pytest.raises(ValueError, match="not used by the HfArgumentParser: \\['--lerning_rate', '1'\\]"):
        parser.parse_args_into_dataclasses(["--model_name_or_path", "m", "--lerning_rate", "1"])
    *_, remaining = parser.parse_args_into_dataclasses(["--model_name_or_path", "m", "--extra", "1"],
                                                       return_remaining_strings=True)
    assert remaining == ["--extra", "1"]
    with pytest.raises(TypeError, match="Did you mean 'model_name_or_path'"):
        parser.parse_dict({"model_name_or_pth": "m"})


def test_deprecated_training_argument_names_map_with_one_warning_each(caplog):
    with caplog.at_level(logging.WARNING, logger="tuneformers"):
        args = TrainingArguments(evaluation_strategy="epoch", per_gpu_eval_batch_size=3, no_cuda=True,
                                 fp16_opt_level="O2")
    assert (args.eval_strategy, args.per_device_eval_batch_size, args.use_cpu) == ("epoch", 3, True)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 4
    assert any("evaluation_strategy is deprecated; use eval_strategy='epoch'" in m for m in messages)
    assert any("fp16_opt_level='O2' is ignored" in m for m in messages)
    assert args.device.type == "cpu" and args.n_gpu == 0 and args.local_rank == -1
    sanitized = args.to_sanitized_dict()
    assert all(isinstance(value, (bool, int, float, str)) for value in sanitized.values())
    with pytest.raises(ValueError, match="evaluation_strategy|eval_strategy='sometimes'"):
        TrainingArguments(evaluation_strategy="sometimes")


def tiny_classifier(tiny_bert_kwargs) -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(**tiny_bert_kwargs))


def examples(count: int = 16) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    return [{"input_ids": torch.randint(5, 99, (8,), generator=generator), "labels": torch.tensor(i % 2)}
            for i in range(count)]


def test_trainer_script_methods(tmp_path, tiny_bert_kwargs, capsys):
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, per_device_eval_batch_size=5,
                             max_steps=2, report_to="none", disable_tqdm=True, save_strategy="no")
    trainer = Trainer(tiny_classifier(tiny_bert_kwargs), args, train_dataset=examples(), eval_dataset=examples(12),
                      compute_metrics=lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())},
                      prediction_loss_only=True)
    assert trainer.is_world_master() and trainer.is_world_process_zero()
    assert len(trainer.get_train_dataloader()) == 4 and trainer.num_examples(trainer.get_train_dataloader()) == 16
    assert [len(batch["input_ids"]) for batch in trainer.get_eval_dataloader()] == [5, 5, 2]
    assert len(trainer.get_test_dataloader(examples(3))) == 1
    metrics = trainer.evaluate()
    assert "eval_loss" in metrics and "eval_accuracy" not in metrics  # prediction_loss_only
    trainer.args.prediction_loss_only = False
    assert "eval_accuracy" in trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    assert "***** eval metrics *****" in capsys.readouterr().out
    trainer.save_metrics("eval", {"eval_loss": 0.5})
    trainer.save_metrics("train", {"train_loss": 0.7})
    assert json.loads((tmp_path / "all_results.json").read_text()) == {"eval_loss": 0.5, "train_loss": 0.7}
    trainer.train()
    trainer.save_state()
    assert json.loads((tmp_path / "trainer_state.json").read_text())["global_step"] == 2


def test_resume_from_a_plain_model_folder_loads_its_weights_and_starts_at_step_zero(tmp_path, tiny_bert_kwargs):
    source = tiny_classifier(tiny_bert_kwargs)
    with torch.no_grad():
        source.classifier.weight.fill_(0.25)
    source.save_pretrained(tmp_path / "model")
    fresh = tiny_classifier(tiny_bert_kwargs)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=1, learning_rate=0.0, report_to="none",
                             disable_tqdm=True, save_strategy="no", per_device_train_batch_size=4)
    trainer = Trainer(fresh, args, train_dataset=examples())
    result = trainer.train(model_path=str(tmp_path / "model"))  # the v3 spelling
    assert result.global_step == 1
    torch.testing.assert_close(fresh.classifier.weight, torch.full_like(fresh.classifier.weight, 0.25))
    with pytest.raises(FileNotFoundError, match="neither a checkpoint folder .* nor a model folder"):
        Trainer(tiny_classifier(tiny_bert_kwargs), args, train_dataset=examples()).train(str(tmp_path))


def test_config_keywords_scripts_pass(minilm_dir, caplog):
    config = tuneformers.AutoConfig.from_pretrained(str(minilm_dir), num_labels=3, finetuning_task="sst-2",
                                                    cache_dir=None, revision=None, use_auth_token=False)
    assert config.finetuning_task == "sst-2" and config.num_labels == 3
    assert json.loads(config.to_json_string())["finetuning_task"] == "sst-2"
    with caplog.at_level(logging.INFO, logger="tuneformers"):
        model = BertForSequenceClassification.from_pretrained(str(minilm_dir), num_classes=4)
    assert model.config.num_labels == 4 and any("num_classes is read as num_labels" in r.getMessage() for r in caplog.records)
    with pytest.raises(TypeError, match="Did you mean 'num_labels'"):
        BertForSequenceClassification.from_pretrained(str(minilm_dir), num_lables=4)


def test_mappings_auto_aliases_and_availability():
    assert tuneformers.CONFIG_MAPPING["bert"] is BertConfig and "bert" in tuneformers.CONFIG_MAPPING.keys()
    assert tuneformers.MODEL_WITH_LM_HEAD_MAPPING[BertConfig] is BertForMaskedLM
    from tuneformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    model_types = tuple(c.model_type for c in tuneformers.MODEL_FOR_QUESTION_ANSWERING_MAPPING)
    assert model_types[0] == "bert" and model_types == tuple(MODEL_MAPPING_NAMES["question-answering"])
    assert tuneformers.AutoModelWithLMHead.from_config(BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=1,
                                                                  num_attention_heads=4, intermediate_size=37)).__class__ is BertForMaskedLM
    assert tuneformers.WEIGHTS_NAME == "pytorch_model.bin" and tuneformers.is_torch_available()
    from tuneformers.trainer_utils import get_last_checkpoint, is_main_process

    assert is_main_process(-1) and is_main_process(0) and not is_main_process(1)
    assert get_last_checkpoint("/nonexistent") is None


def test_logging_switches():
    from tuneformers.utils import logging as tf_logging

    tf_logging.set_verbosity_warning()
    assert tf_logging.get_verbosity() == logging.WARNING
    tf_logging.set_verbosity_info()
    assert tf_logging.get_verbosity() == logging.INFO
    tf_logging.disable_default_handler()
    assert not logging.getLogger("tuneformers").handlers
    tf_logging.enable_default_handler()
    (handler,) = logging.getLogger("tuneformers").handlers
    record = logging.LogRecord("tuneformers.x", logging.INFO, "script.py", 7, "hello", None, None)
    tf_logging.enable_explicit_format()
    assert handler.format(record).startswith("[INFO|script.py:7]") and handler.format(record).endswith(">> hello")
    tf_logging.reset_format()
    assert handler.format(record) == "[tuneformers] INFO: hello"


def test_resize_token_embeddings_matches_hf(tiny_bert_kwargs):
    hf = pytest.importorskip("transformers")
    torch.manual_seed(0)
    ours = BertForMaskedLM(BertConfig(**tiny_bert_kwargs)).eval()
    theirs = hf.BertForMaskedLM(hf.BertConfig(**tiny_bert_kwargs)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=False)
    ids = torch.tensor([[2, 5, 7, 98]])
    before = ours(ids).logits
    ours.resize_token_embeddings(110)
    theirs.resize_token_embeddings(110)
    after = ours(ids).logits
    assert after.shape == theirs(ids).logits.shape == (1, 4, 110) and ours.config.vocab_size == 110
    torch.testing.assert_close(after[..., :99], before, rtol=0, atol=1e-6)
    assert ours.get_output_embeddings().weight is ours.get_input_embeddings().weight
    ours.resize_token_embeddings(50)
    assert ours(ids.clamp(max=49)).logits.shape[-1] == 50 and ours.cls.predictions.bias.shape == (50,)
    assert BertForSequenceClassification(BertConfig(**tiny_bert_kwargs)).get_output_embeddings() is None


def write_sst2(folder, texts_labels):
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", texts_labels), ("dev", texts_labels[:6])):
        with open(folder / f"{split}.tsv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            writer.writerow(["sentence", "label"])
            writer.writerows(rows)


def test_glue_dataset_builds_then_reuses_a_json_cache(tmp_path, tokenizer):
    reviews = tuneformers.load_rotten_tomatoes(max_examples=20)
    write_sst2(tmp_path / "SST-2", [(e.text.replace("\t", " "), e.label) for e in reviews])
    args = GlueDataTrainingArguments(task_name="SST-2", data_dir=str(tmp_path / "SST-2"), max_seq_length=32)
    train = GlueDataset(args, tokenizer=tokenizer)
    dev = GlueDataset(args, tokenizer=tokenizer, mode="dev")
    assert len(train) == 20 and len(dev) == 6 and train.get_labels() == ["0", "1"]
    assert train[0].input_ids == tokenizer(reviews[0].text, max_length=32, padding="max_length", truncation=True)["input_ids"]
    cache = next((tmp_path / "SST-2").glob("cached_train_*"))
    assert cache.read_text().count("\n") == 20
    cache.write_text(cache.read_text().replace('"label": 0', '"label": 1'))  # a changed cache is what loads next
    assert all(feature.label == 1 for feature in GlueDataset(args, tokenizer=tokenizer))
    fresh = GlueDataset(dataclasses.replace(args, overwrite_cache=True), tokenizer=tokenizer)
    assert [f.label for f in fresh] == [e.label for e in reviews]
    with pytest.raises(ValueError, match="task_name='sst3' is not a GLUE task"):
        GlueDataTrainingArguments(task_name="sst3", data_dir=".")


@pytest.mark.tf
def test_tf_training_arguments_strategy_has_a_scope():
    from tuneformers import TFTrainingArguments

    args = TFTrainingArguments(strategy="one_device")
    assert args.strategy == "one_device" and args.strategy.num_replicas_in_sync == 1
    with args.strategy.scope():
        pass
    with pytest.raises(ValueError, match="TFTrainer does not support gradient_accumulation_steps"):
        TFTrainingArguments(gradient_accumulation_steps=2)


@pytest.mark.parametrize("fast", [True, False])
def test_added_tokens_match_hf_and_survive_save_load(minilm_dir, tmp_path, fast):
    hf = pytest.importorskip("transformers")
    ours_class = tuneformers.BertTokenizerFast if fast else tuneformers.BertTokenizer
    hf_class = hf.BertTokenizerFast if fast else getattr(hf, "BertTokenizerLegacy", hf.BertTokenizer)
    ours, theirs = ours_class.from_pretrained(str(minilm_dir)), hf_class.from_pretrained(str(minilm_dir))
    assert ours.is_fast is fast and isinstance(ours, tuneformers.PreTrainedTokenizer)
    assert (ours.max_len_single_sentence, ours.max_len_sentences_pair) == (theirs.max_len_single_sentence,
                                                                           theirs.max_len_sentences_pair)
    assert ours.add_tokens(["frobnicate", "hello", "<ent>"]) == 2  # "hello" is in the vocabulary already
    theirs.add_tokens(["frobnicate", "hello", "<ent>"])
    assert ours.add_special_tokens({"additional_special_tokens": ["<e1>"]}) == 1
    theirs.add_special_tokens({"additional_special_tokens": ["<e1>"]})
    text = "I frobnicate <ent> and <e1> hello"
    assert ours(text)["input_ids"] == theirs(text)["input_ids"] and len(ours) == len(theirs) == 30525
    assert ours.decode(ours(text)["input_ids"], skip_special_tokens=True) == "i frobnicate <ent> and hello"
    assert ours.get_added_vocab() == {"frobnicate": 30522, "<ent>": 30523, "<e1>": 30524}
    assert ours.additional_special_tokens == ["<e1>"] and ours.additional_special_tokens_ids == [30524]
    ours.save_pretrained(tmp_path)
    assert ours_class.from_pretrained(str(tmp_path))(text)["input_ids"] == ours(text)["input_ids"]
    assert hf_class.from_pretrained(str(tmp_path))(text)["input_ids"] == ours(text)["input_ids"]
    assert ours.convert_tokens_to_string(ours.tokenize("unaffable frobnicate")) == "unaffable frobnicate"
    assert ours("a b", pad_to_max_length=True, max_length=6)["input_ids"] == [101, 1037, 1038, 102, 0, 0]
    with pytest.raises(ValueError, match="Did you mean 'pad_token'"):
        ours.add_special_tokens({"pad_tokn": "[PAD]"})
