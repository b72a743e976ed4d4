"""Tokenizer parity with HF transformers (the test-only oracle) for MPNet, DeBERTa-v2 and ModernBERT.

Tiny tokenizers are trained with the ``tokenizers`` library on the real Rotten Tomatoes snippets; HF's own
tokenizer classes load them and save_pretrained, so the folders have exactly HF's layout. Ours loads each
folder (through AutoTokenizer) and must give the same ids, offsets and special-token masks on the whole
corpus: single texts and pairs, truncated and padded.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers  # noqa: E402

from tuneformers import AutoTokenizer, load_rotten_tomatoes  # noqa: E402


@pytest.fixture(scope="module")
def corpus(rotten_tomatoes_file) -> list[str]:
    return [example.text for example in load_rotten_tomatoes(seed=None)]


def train_wordpiece(corpus: list[str], specials: list[str]) -> dict[str, int]:
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=800, special_tokens=specials))
    return backend.get_vocab()


def mpnet_folder(corpus, folder):
    vocab = train_wordpiece(corpus, ["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"])
    transformers.MPNetTokenizer(vocab=vocab).save_pretrained(folder)
    return folder


def deberta_v2_folder(corpus, folder):
    import json

    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=["[PAD]", "[CLS]", "[SEP]", "[UNK]"],
                                      unk_token="[UNK]")
    backend.train_from_iterator(corpus[:1500], trainer)  # a slice: Unigram training is the slow part
    pieces = [tuple(piece) for piece in json.loads(backend.to_str())["model"]["vocab"]]
    transformers.DebertaV2Tokenizer(vocab=[*pieces, ("[MASK]", 0.0)], unk_id=3).save_pretrained(folder)
    return folder


def modernbert_folder(corpus, folder):
    """ModernBERT's layout: byte-level BPE, [CLS] A [SEP] B [SEP] from a TemplateProcessing post-processor."""
    from tokenizers import decoders, processors

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    backend = Tokenizer(models.BPE(unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", backend.token_to_id("[CLS]")), ("[SEP]", backend.token_to_id("[SEP]"))])
    transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]", model_input_names=["input_ids", "attention_mask"]).save_pretrained(folder)
    return folder


FOLDERS = {"mpnet": mpnet_folder, "deberta-v2": deberta_v2_folder, "modernbert": modernbert_folder}


@pytest.fixture(scope="module", params=list(FOLDERS))
def tokenizer_pair(request, corpus, tmp_path_factory):
    folder = FOLDERS[request.param](corpus, tmp_path_factory.mktemp(request.param))
    return request.param, AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)


def assert_same_encoding(ours, hf, *args, **kwargs):
    kwargs = dict(return_special_tokens_mask=True, return_offsets_mapping=True, **kwargs)
    expected, got = hf(*args, **kwargs), ours(*args, **kwargs)
    assert set(got.keys()) == set(expected.keys())
    for key in expected.keys():
        expected_rows = [list(map(tuple, row)) if key == "offset_mapping" else row for row in expected[key]]
        got_rows = [list(map(tuple, row)) if key == "offset_mapping" else row for row in got[key]]
        mismatch = next((index for index, (a, b) in enumerate(zip(got_rows, expected_rows)) if a != b), None)
        assert mismatch is None and len(got_rows) == len(expected_rows), (key, mismatch, args[0][mismatch or 0])


def test_class_and_special_tokens(tokenizer_pair):
    name, ours, hf = tokenizer_pair
    expected = {"TokenizersBackend": "PreTrainedTokenizerFast"}.get(type(hf).__name__, type(hf).__name__ + "Fast")
    assert type(ours).__name__ == expected
    for attribute in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token",
                      "cls_token_id", "sep_token_id", "pad_token_id", "unk_token_id", "mask_token_id"):
        assert getattr(ours, attribute) == getattr(hf, attribute), attribute
    assert set(ours.model_input_names) == set(hf.model_input_names)
    assert len(ours) == len(hf)


def encode_both_ways(ours, hf, texts: list[str]) -> None:
    """Singles and pairs, plain and truncated + padded, with offsets and special-token masks."""
    assert_same_encoding(ours, hf, texts)
    assert_same_encoding(ours, hf, texts, truncation=True, max_length=24, padding=True)
    firsts, seconds = texts[0::2], texts[1::2]
    firsts = firsts[: len(seconds)]
    assert_same_encoding(ours, hf, firsts, seconds)
    assert_same_encoding(ours, hf, firsts, seconds, truncation="longest_first", max_length=40, padding="max_length")


def test_a_sample_of_the_corpus(tokenizer_pair, corpus):
    _, ours, hf = tokenizer_pair
    encode_both_ways(ours, hf, corpus[::16])  # 801 snippets; the whole corpus is the slow test below


@pytest.mark.slow
def test_the_whole_corpus(tokenizer_pair, corpus):
    _, ours, hf = tokenizer_pair
    encode_both_ways(ours, hf, corpus)


def test_mask_token_and_decode(tokenizer_pair, corpus):
    _, ours, hf = tokenizer_pair
    text = f"a rare {hf.mask_token} of a film"
    assert_same_encoding(ours, hf, [text])
    ids = hf(corpus[:50])["input_ids"]
    options = dict(skip_special_tokens=True, clean_up_tokenization_spaces=False)  # HF 5 cleans up by default no more
    assert ours.batch_decode(ids, **options) == hf.batch_decode(ids, **options)


def test_save_and_reload_round_trip(tokenizer_pair, corpus, tmp_path):
    _, ours, hf = tokenizer_pair
    ours.save_pretrained(tmp_path)
    assert_same_encoding(AutoTokenizer.from_pretrained(tmp_path), hf, corpus[:500], corpus[500:1000])
    assert_same_encoding(ours, transformers.AutoTokenizer.from_pretrained(tmp_path), corpus[:500], corpus[500:1000])


@pytest.mark.slow
def test_real_mpnet_tokenizer_on_the_whole_corpus(mpnet_dir, corpus):
    ours, hf = AutoTokenizer.from_pretrained(mpnet_dir), transformers.AutoTokenizer.from_pretrained(str(mpnet_dir))
    assert type(ours).__name__ == "MPNetTokenizerFast"
    encode_both_ways(ours, hf, corpus)


TINY_MODELS = {"mpnet": ("MPNetConfig", dict(max_position_embeddings=130)),
               "deberta-v2": ("DebertaV2Config", dict(relative_attention=True, position_buckets=16,
                                                      pos_att_type=["p2c", "c2p"], position_biased_input=False)),
               "modernbert": ("ModernBertConfig", dict(local_attention=16))}


def test_cli_trains_a_folder_of_this_family(tokenizer_pair, corpus, tmp_path):
    """`tuneformers train --model FOLDER` on a tiny random model of the family with the trained tokenizer."""
    import csv
    import json

    import tuneformers
    from tuneformers.cli.main import main

    name, ours, _ = tokenizer_pair
    config_name, extra = TINY_MODELS[name]
    config = getattr(tuneformers, config_name)(vocab_size=len(ours), hidden_size=32, num_hidden_layers=2,
                                               num_attention_heads=4, intermediate_size=37,
                                               pad_token_id=ours.pad_token_id, **extra)
    folder = tmp_path / "model"
    tuneformers.AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    ours.save_pretrained(folder)
    examples = tuneformers.load_rotten_tomatoes(max_examples=48, seed=3)
    with open(tmp_path / "train.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("review", "label"), *((e.text, e.label) for e in examples)])
    code = main(["train", "--model", str(folder), "--train_file", str(tmp_path / "train.csv"), "--text_column",
                 "review", "--label_column", "label", "--output_dir", str(tmp_path / "run"), "--max_steps", "2",
                 "--max_length", "48", "--no_plot", "--report_to", "none", "--disable_tqdm"])
    assert code == 0
    assert "eval_accuracy" in json.loads((tmp_path / "run" / "metrics.json").read_text())
    reloaded = tuneformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "run")
    assert type(reloaded).__name__.lower().startswith(name.replace("-", "")[:6])
