"""pipeline() for every task against HF's pipelines on the same checkpoints: tiny random heads saved by HF
(with all-MiniLM-L6-v2's real tokenizer) for the fast tests, the real all-MiniLM-L6-v2 for the slow ones.
HF 5.x has no question-answering pipeline: answers are checked against the best valid span computed by
brute force from HF's model logits and offsets (HF 4.x's span search)."""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tuneformers import pipeline  # noqa: E402

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXTS = ["Peter Blackburn visited Washington yesterday.", "Zürich's naïve café owners re-opened in São Paulo!",
         "The unbelievably longwinded antidisestablishmentarianism debate", "short"]
CONTEXT = ("The Rhine is a European river that begins in the Swiss canton of Graubünden in the southeastern Swiss Alps. "
           "It forms part of the Swiss-Liechtenstein and Swiss-Austrian borders, then flows through Germany and the "
           "Netherlands to the North Sea near Rotterdam. Its biggest city is Cologne, with over a million people.") * 2


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory, minilm_dir):
    """One tiny HF checkpoint per head, saved by HF, with the real MiniLM tokenizer files."""
    config = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=512)
    heads = {
        "text-classification": (transformers.BertForSequenceClassification,
                                dict(id2label={0: "negative", 1: "neutral", 2: "positive"})),
        "token-classification": (transformers.BertForTokenClassification, dict(id2label=dict(enumerate(NER_LABELS)))),
        "question-answering": (transformers.BertForQuestionAnswering, {}),
        "fill-mask": (transformers.BertForMaskedLM, {}),
        "feature-extraction": (transformers.BertModel, {}),
    }
    folders = {}
    for task, (cls, extra) in heads.items():
        torch.manual_seed(0)
        model = cls(transformers.BertConfig(**config, **extra))
        with torch.no_grad():  # sharpen the random heads so that predictions differ between tokens
            for name, parameter in model.named_parameters():
                if name.startswith(("classifier", "qa_outputs")) and name.endswith("weight"):
                    parameter.mul_(60.0)
        folder = tmp_path_factory.mktemp(task)
        model.save_pretrained(folder)
        for name in TOKENIZER_FILES:
            if (minilm_dir / name).is_file():
                shutil.copy(minilm_dir / name, folder / name)
        folders[task] = folder
    return folders


@functools.lru_cache(maxsize=None)
def hf_pipeline(task, folder):
    return transformers.pipeline(task, model=str(folder), tokenizer=str(folder), device="cpu")


@functools.lru_cache(maxsize=None)
def our_pipeline(task, folder, **options):
    return pipeline(task, model=folder, **options)


def assert_same_results(ours, theirs, tolerance=1e-5):
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key, value in theirs.items():
            assert_same_results(ours[key], value, tolerance)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs):
            assert_same_results(mine, other, tolerance)
    elif isinstance(theirs, (float, np.floating)):
        assert ours == pytest.approx(float(theirs), abs=tolerance)
    else:
        assert ours == theirs


# ---- text classification ----


@pytest.mark.parametrize("options", [{}, {"top_k": None}, {"function_to_apply": "sigmoid", "top_k": 2},
                                     {"function_to_apply": "none", "top_k": 1}])
def test_text_classification_equals_hf(hf_folders, options):
    folder = hf_folders["text-classification"]
    ours, theirs = our_pipeline("text-classification", folder), hf_pipeline("text-classification", folder)
    assert_same_results(ours(TEXTS[0], **options), theirs(TEXTS[0], **options))
    assert_same_results(ours(TEXTS, **options), theirs(TEXTS, **options))
    pair = {"text": TEXTS[0], "text_pair": TEXTS[1]}
    assert_same_results(ours(pair, **options), theirs(pair, **options))
    assert_same_results(ours([pair, pair], **options), theirs([pair, pair], **options))


def test_text_classification_scores_depend_on_the_text(hf_folders):
    results = pipeline("sentiment-analysis", model=hf_folders["text-classification"])(TEXTS)
    assert len({round(r["score"], 6) for r in results}) == len(TEXTS)


# ---- token classification ----


@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_token_classification_equals_hf(hf_folders, strategy):
    folder = hf_folders["token-classification"]
    ours = our_pipeline("ner", folder, aggregation_strategy=strategy)
    theirs = hf_pipeline("token-classification", folder)
    expected = theirs(TEXTS, aggregation_strategy=strategy)
    assert_same_results(ours(TEXTS), expected)
    assert sum(len(entities) for entities in expected) > 3  # the random head finds entities
    for text, entities in zip(TEXTS, ours(TEXTS)):
        for entity in entities:
            assert 0 <= entity["start"] < entity["end"] <= len(text)


def test_token_classification_words_and_ignore_labels(hf_folders):
    folder = hf_folders["token-classification"]
    ours, theirs = our_pipeline("token-classification", folder), hf_pipeline("token-classification", folder)
    words = ["Peter", "Blackburn", "visited", "São", "Paulo"]
    options = dict(is_split_into_words=True, aggregation_strategy="first")
    assert_same_results(ours(words, **options), theirs(words, **options))
    assert_same_results(ours(TEXTS[1], ignore_labels=[]), theirs(TEXTS[1], ignore_labels=[]))


# ---- fill mask ----


@pytest.mark.parametrize("options", [{}, {"top_k": 2}, {"targets": ["paris", "london", "berlin"]},
                                     {"targets": "madrid", "top_k": 3}])
def test_fill_mask_equals_hf(hf_folders, options):
    folder = hf_folders["fill-mask"]
    ours, theirs = our_pipeline("fill-mask", folder), hf_pipeline("fill-mask", folder)
    texts = ["The capital of France is [MASK].", "[MASK] and [MASK] went home."]
    for text in texts:
        assert_same_results(ours(text, **options), theirs(text, **options))
    assert_same_results(ours(texts, **options), theirs(texts, **options))


def test_fill_mask_needs_a_mask(hf_folders):
    with pytest.raises(ValueError, match=r"No mask token \(\[MASK\]\)"):
        pipeline("fill-mask", model=hf_folders["fill-mask"])("no mask here")


# ---- feature extraction ----


def test_feature_extraction_equals_hf(hf_folders):
    folder = hf_folders["feature-extraction"]
    ours, theirs = our_pipeline("feature-extraction", folder), hf_pipeline("feature-extraction", folder)
    assert_same_results(ours(TEXTS), theirs(TEXTS))
    assert np.asarray(ours(TEXTS[0])).shape == (1, len(ours.tokenizer(TEXTS[0])["input_ids"]), 32)


# ---- question answering: HF 4.x's span search over HF's own logits as the oracle ----


def best_span_from_hf(hf_model, hf_tokenizer, question, context, max_seq_len, doc_stride, max_answer_len=15):
    """Every valid span of every window, scored P(start) * P(end) from HF's logits; the best, and the
    smallest null score over the windows."""
    encoding = hf_tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                            return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                            return_tensors="pt")
    with torch.no_grad():
        output = hf_model(input_ids=encoding["input_ids"], attention_mask=encoding["attention_mask"],
                          token_type_ids=encoding["token_type_ids"])
    spans, null = [], 1e6
    for window in range(len(encoding["input_ids"])):
        sequence_ids = encoding.sequence_ids(window)
        allowed = np.array([s == 1 for s in sequence_ids])
        allowed[0] = True
        probabilities = []
        for logits in (output.start_logits[window].numpy(), output.end_logits[window].numpy()):
            masked = np.where(allowed, logits.astype(np.float64), -10000.0)
            p = np.exp(masked - masked.max())
            probabilities.append(p / p.sum())
        start, end = probabilities
        null = min(null, start[0] * end[0])
        context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
        enc = encoding[window]
        for s in context_tokens:  # context tokens are contiguous: e runs over the next max_answer_len of them
            for e in context_tokens[context_tokens.index(s):][:max_answer_len]:
                first = enc.word_to_chars(enc.token_to_word(s), sequence_index=1)[0]
                last = enc.word_to_chars(enc.token_to_word(e), sequence_index=1)[1]
                spans.append({"score": start[s] * end[e], "start": first, "end": last, "answer": context[first:last]})
    spans.sort(key=lambda span: span["score"], reverse=True)
    return spans, null


@pytest.mark.parametrize("max_seq_len,doc_stride", [(384, 128), (48, 16)])
def test_question_answering_finds_hf_best_span(hf_folders, hf_tokenizer, max_seq_len, doc_stride):
    folder = hf_folders["question-answering"]
    hf_model = transformers.BertForQuestionAnswering.from_pretrained(str(folder)).eval()
    qa = pipeline("question-answering", model=folder, max_seq_len=max_seq_len, doc_stride=doc_stride)
    for question in ("Where does the Rhine begin?", "What is the biggest city?"):
        spans, null = best_span_from_hf(hf_model, hf_tokenizer, question, CONTEXT, max_seq_len, doc_stride)
        answer = qa(question=question, context=CONTEXT)
        assert_same_results(answer, spans[0])
        assert CONTEXT[answer["start"]:answer["end"]] == answer["answer"]
        top = qa({"question": question, "context": CONTEXT}, top_k=3)
        assert [a["score"] for a in top] == pytest.approx([s["score"] for s in spans[:3]], abs=1e-6)
        impossible = qa(question, CONTEXT, handle_impossible_answer=True, top_k=len(spans) + 1)
        empty = [a for a in impossible if a["answer"] == ""]
        assert len(empty) == 1 and empty[0]["score"] == pytest.approx(null, abs=1e-6)


def test_question_answering_batches_and_lists(hf_folders):
    qa = pipeline("question-answering", model=hf_folders["question-answering"], max_seq_len=48, doc_stride=16)
    questions = ["Where does the Rhine begin?", "What is the biggest city?", "Which sea?"]
    one_by_one = [qa(question=q, context=CONTEXT) for q in questions]
    assert_same_results(qa(question=questions, context=CONTEXT, batch_size=5), one_by_one, tolerance=1e-6)
    with pytest.raises(ValueError, match="non-empty"):
        qa(question="", context=CONTEXT)


# ---- factory and batching ----


def test_batched_equals_unbatched_for_every_task(hf_folders):
    inputs = {"text-classification": TEXTS, "token-classification": TEXTS, "feature-extraction": TEXTS,
              "fill-mask": ["A [MASK] day.", "The [MASK] of the long story was long too."]}
    for task, items in inputs.items():
        assert_same_results(our_pipeline(task, hf_folders[task], batch_size=3)(items),
                            our_pipeline(task, hf_folders[task])(items), tolerance=1e-5)


def test_unknown_task_and_options():
    with pytest.raises(KeyError, match="Did you mean 'token-classification'"):
        pipeline("token-clasification", model="x")
    with pytest.raises(ValueError, match="needs model="):
        pipeline("fill-mask")


@pytest.mark.gpu
def test_pipeline_on_gpu(hf_folders):
    folder = hf_folders["token-classification"]
    on_gpu = pipeline("ner", model=folder, device=0, aggregation_strategy="simple")(TEXTS)
    assert_same_results(on_gpu, pipeline("ner", model=folder, aggregation_strategy="simple")(TEXTS), tolerance=1e-4)


# ---- the real checkpoint ----


@pytest.mark.slow
def test_real_minilm_features_and_sentence_embeddings(minilm_dir):
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."]
    ours = pipeline("feature-extraction", model="sentence-transformers/all-MiniLM-L6-v2", batch_size=2)
    theirs = hf_pipeline("feature-extraction", minilm_dir)
    assert_same_results(ours(texts), theirs(texts), tolerance=1e-5)
    embeddings = np.array(ours(texts, pooling="mean", normalize=True))
    reference = [np.asarray(theirs(text)[0]).mean(axis=0) for text in texts]
    reference = np.array([v / np.linalg.norm(v) for v in reference])
    np.testing.assert_allclose(embeddings, reference, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]  # the two sentences about eating are the close pair
