"""Tokenizers of RoBERTa (byte-level BPE), XLM-RoBERTa / CamemBERT (Unigram), DistilBERT / ELECTRA (WordPiece):
tiny vocabularies trained on the Rotten Tomatoes snippets, written in HF's file layout by HF's own tokenizer
classes (the test-only oracle), then ids, offsets and special tokens compared with HF's on the corpus."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers  # noqa: E402

import tuneformers  # noqa: E402
from tuneformers import AutoTokenizer  # noqa: E402

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# family -> (our fast class, HF class name, model_type)
FAMILIES = {
    "roberta": ("RobertaTokenizerFast", "RobertaTokenizer", "roberta"),
    "xlm-roberta": ("XLMRobertaTokenizerFast", "XLMRobertaTokenizer", "xlm-roberta"),
    "camembert": ("CamembertTokenizerFast", "CamembertTokenizer", "camembert"),
    "distilbert": ("DistilBertTokenizerFast", "DistilBertTokenizer", "distilbert"),
    "electra": ("ElectraTokenizerFast", "ElectraTokenizer", "electra"),
}


@pytest.fixture(scope="session")
def texts():
    return [example.text for example in tuneformers.load_rotten_tomatoes()]


@pytest.fixture(scope="session")
def folders(texts, tmp_path_factory):
    """{family: a tokenizer folder as HF's save_pretrained writes it}, plus "roberta-files": vocab.json + merges.txt."""
    root = tmp_path_factory.mktemp("tokenizers")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=800, special_tokens=ROBERTA_SPECIALS + ["<mask>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    (root / "roberta-files").mkdir()
    bpe.model.save(str(root / "roberta-files"))  # the HF 4.x layout
    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.train_from_iterator(texts[:1500], trainers.UnigramTrainer(vocab_size=400, special_tokens=ROBERTA_SPECIALS,
                                                                      unk_token="<unk>", show_progress=False))
    pieces = [tuple(piece) for piece in json.loads(unigram.to_str())["model"]["vocab"]] + [("<mask>", 0.0)]
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer()
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=800, special_tokens=BERT_SPECIALS,
                                                                   show_progress=False))
    (root / "vocab").mkdir()
    vocab = sorted(wordpiece.get_vocab().items(), key=lambda item: item[1])
    (root / "vocab" / "vocab.txt").write_text("".join(token + "\n" for token, _ in vocab), encoding="utf-8")

    hf_tokenizers = {
        "roberta": transformers.RobertaTokenizer.from_pretrained(str(root / "roberta-files")),
        "xlm-roberta": transformers.XLMRobertaTokenizer(vocab=pieces),
        "camembert": transformers.CamembertTokenizer(vocab=pieces),
        "distilbert": transformers.DistilBertTokenizer.from_pretrained(str(root / "vocab")),
        "electra": transformers.ElectraTokenizer.from_pretrained(str(root / "vocab")),
    }
    result = {"roberta-files": root / "roberta-files"}
    for family, hf_tokenizer in hf_tokenizers.items():
        hf_tokenizer.save_pretrained(str(root / family))
        result[family] = root / family
    return result


def load_both(folders, family, **options):
    ours_name, hf_name, _ = FAMILIES[family]
    ours = getattr(tuneformers, ours_name).from_pretrained(folders[family], **options)
    hf = getattr(transformers, hf_name).from_pretrained(str(folders[family]), **options)
    return ours, hf


CALLS = [
    dict(),
    dict(truncation=True, max_length=16, padding="max_length"),
    dict(padding=True, pad_to_multiple_of=8, return_token_type_ids=True),
    dict(truncation="only_second", max_length=40, return_overflowing_tokens=True, stride=2),
]


def make_pairs(texts):
    """(question-like, passage) pairs: a text's first word, and the next text."""
    return [text.split()[0] for text in texts[::2]], texts[1::2]


def assert_same_encodings(ours, hf, texts, pairs, call):
    for args in ((texts,), pairs):
        if call.get("truncation") == "only_second" and len(args) == 1:
            continue
        options = dict(return_offsets_mapping=True, return_special_tokens_mask=True, **call)
        expected = hf(*args, **options)
        if "token_type_ids" not in expected and call.get("return_token_type_ids"):
            raise AssertionError("HF returned no token_type_ids although asked for")
        got = ours(*args, **options)
        assert sorted(got.keys()) == sorted(expected.keys())
        for key in expected.keys():
            for index, (row, expected_row) in enumerate(zip(got[key], expected[key], strict=True)):
                assert row == expected_row, (key, args[0][index] if key != "overflow_to_sample_mapping" else index)
        if "overflow_to_sample_mapping" not in expected:
            assert [got.word_ids(i) for i in range(5)] == [expected.word_ids(i) for i in range(5)]


@pytest.mark.parametrize("call", CALLS, ids=["plain", "truncate-pad", "pad-multiple", "overflow-pairs"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_matches_hf_on_a_corpus_sample(folders, texts, family, call):
    ours, hf = load_both(folders, family)
    sample = texts[:400]
    assert_same_encodings(ours, hf, sample, make_pairs(sample), call)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_matches_hf_on_the_whole_corpus(folders, texts, family):
    ours, hf = load_both(folders, family)
    for call in CALLS:
        assert_same_encodings(ours, hf, texts, make_pairs(texts), call)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_special_tokens_and_model_inputs(folders, family):
    ours, hf = load_both(folders, family)
    assert ours.special_tokens_map == {name: str(token) for name, token in hf.special_tokens_map.items()
                                       if name != "additional_special_tokens"}
    assert ours.all_special_ids == [hf.convert_tokens_to_ids(token) for token in ours.all_special_tokens]
    for name in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"):
        assert getattr(ours, f"{name}_token_id") == getattr(hf, f"{name}_token_id"), name
    assert ours.num_special_tokens_to_add(pair=True) == hf.num_special_tokens_to_add(pair=True)
    assert sorted(ours("a text")) == sorted(hf("a text").keys())  # token_type_ids only where HF has them
    assert len(ours) == len(hf) and ours.get_vocab() == hf.get_vocab()
    text = "A <mask> of a movie." if family in ("roberta", "xlm-roberta", "camembert") else "A [MASK] of a movie."
    assert ours(text)["input_ids"] == hf(text)["input_ids"]
    assert ours.decode(ours(text)["input_ids"], skip_special_tokens=True) == hf.decode(hf(text)["input_ids"],
                                                                                       skip_special_tokens=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_auto_tokenizer_and_save_round_trip(folders, texts, family, tmp_path):
    ours_name, hf_name, model_type = FAMILIES[family]
    tokenizer = AutoTokenizer.from_pretrained(folders[family])
    # HF 5 saves its ElectraTokenizer (an alias of BertTokenizer) as "BertTokenizer"; AutoTokenizer follows the file
    assert type(tokenizer).__name__ == ("BertTokenizerFast" if family == "electra" else ours_name)
    tokenizer = getattr(tuneformers, ours_name).from_pretrained(folders[family])
    tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == hf_name
    assert type(AutoTokenizer.from_pretrained(tmp_path)).__name__ == ours_name
    hf = getattr(transformers, hf_name).from_pretrained(str(tmp_path))
    assert hf(texts[:50])["input_ids"] == tokenizer(texts[:50])["input_ids"]
    (tmp_path / "tokenizer_config.json").unlink()  # then config.json's model_type decides
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert type(AutoTokenizer.from_pretrained(tmp_path)).__name__ == ours_name


def test_roberta_from_vocab_and_merges_and_prefix_space(folders, texts):
    """The HF 4.x layout (vocab.json + merges.txt) gives the same ids; add_prefix_space as HF's."""
    hf = transformers.RobertaTokenizer.from_pretrained(str(folders["roberta-files"]))
    ours = tuneformers.RobertaTokenizerFast.from_pretrained(folders["roberta-files"])
    assert ours(texts[:200])["input_ids"] == hf(texts[:200])["input_ids"]
    ours, hf = load_both(folders, "roberta", add_prefix_space=True)
    words = [text.split() for text in texts[:100]]
    expected = hf(words, is_split_into_words=True, return_offsets_mapping=True)
    got = ours(words, is_split_into_words=True, return_offsets_mapping=True)
    assert got["input_ids"] == expected["input_ids"] and got["offset_mapping"] == expected["offset_mapping"]
    assert got.word_ids(3) == expected.word_ids(3)
    with pytest.raises(ValueError, match="add_prefix_space=True"):
        tuneformers.RobertaTokenizerFast.from_pretrained(folders["roberta"])(words[:2], is_split_into_words=True)


def test_slow_sentencepiece_tokenizers_name_the_fast_one(folders):
    pytest.importorskip("tuneformers")
    import importlib.util

    if importlib.util.find_spec("sentencepiece") is not None:
        pytest.skip("sentencepiece is installed")
    for slow, fast in (("XLMRobertaTokenizer", "XLMRobertaTokenizerFast"), ("CamembertTokenizer", "CamembertTokenizerFast")):
        with pytest.raises(ImportError, match=fast):
            getattr(tuneformers, slow).from_pretrained(folders["xlm-roberta"])
        assert type(AutoTokenizer.from_pretrained(folders["xlm-roberta"])).__name__ == "XLMRobertaTokenizerFast"
    slow_roberta = AutoTokenizer.from_pretrained(folders["roberta"], use_fast=False)
    assert type(slow_roberta).__name__ == "RobertaTokenizer"
