"""Parity of the MPNet, DeBERTa-v2 and ModernBERT heads with HF transformers (the test-only oracle).

Each family builds tiny random HF models; HF saves them, ours loads the folder, and both must agree at 1e-5
on logits, loss, every hidden state and the gradients, in eval and train mode (dropout off), with and without
padding. Then ours saves and HF loads: identical outputs. Per-token values are compared at real tokens only.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

transformers = pytest.importorskip("transformers")

import tuneformers  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: the shared parity helpers beside this file
from hf_parity import assert_same_outputs, make_labels  # noqa: E402

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
TASKS = ("Model", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering", "ForMaskedLM",
         "ForMultipleChoice")


@dataclasses.dataclass
class Family:
    prefix: str  # class-name prefix, the same in tuneformers and HF ("MPNet" -> MPNetModel, ...)
    config: dict  # tiny config: keyword arguments of both config classes
    token_types: bool = False  # whether the model takes token_type_ids
    tasks: tuple[str, ...] = TASKS

    def classes(self, task: str):
        return getattr(tuneformers, self.prefix + task), getattr(transformers, self.prefix + task)

    def hf_config(self, **overrides):
        config = getattr(transformers, self.prefix + "Config")(**{**self.config, **overrides})
        config._attn_implementation = "eager"
        return config


FAMILIES = {
    "mpnet": Family("MPNet", dict(TINY, max_position_embeddings=66, hidden_dropout_prob=0.0,
                                  attention_probs_dropout_prob=0.0)),
    # DeBERTa-v3 layout: shared attention keys, log buckets, normed relative embeddings, no absolute positions
    "deberta-v3": Family("DebertaV2", dict(TINY, max_position_embeddings=64, relative_attention=True, position_buckets=8,
                                           pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm",
                                           position_biased_input=False, type_vocab_size=0, legacy=False,
                                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
    # DeBERTa-v2 layout: own position projections, exact distances, absolute positions, token types, E < D
    "deberta-v2": Family("DebertaV2", dict(TINY, max_position_embeddings=64, relative_attention=True,
                                           max_relative_positions=16, pos_att_type="c2p|p2c", type_vocab_size=2,
                                           embedding_size=24, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
                         token_types=True, tasks=("Model", "ForSequenceClassification", "ForMaskedLM")),
    # 3 layers: global, local, local; a 4-token window so the 7-token inputs feel it
    "modernbert": Family("ModernBert", dict(TINY, num_hidden_layers=3, global_attn_every_n_layers=2, local_attention=4,
                                            pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                                            sep_token_id=2, global_rope_theta=1000.0, local_rope_theta=100.0)),
    "modernbert-mean": Family("ModernBert", dict(TINY, local_attention=4, pad_token_id=0, classifier_pooling="mean",
                                                 norm_bias=True, attention_bias=True, mlp_bias=True, classifier_bias=True),
                              tasks=("ForSequenceClassification", "ForMultipleChoice")),
}
CASES = [(name, task) for name, family in FAMILIES.items() for task in family.tasks]


def make_inputs(family: Family, choices=None, padded=True, batch=3, tokens=7, seed=1):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, choices, tokens) if choices else (batch, tokens)
    input_ids = torch.randint(3, family.config["vocab_size"], shape, generator=generator)
    attention_mask = torch.ones(shape, dtype=torch.long)
    if padded:
        attention_mask[0, ..., -2:] = 0  # the first example is padded
        input_ids[0, ..., -2:] = family.config.get("pad_token_id", 1 if family.prefix == "MPNet" else 0)
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)
    if family.token_types:
        inputs["token_type_ids"] = (torch.arange(tokens) >= tokens // 2).long().expand(shape).contiguous()
    return inputs


_PAIRS: dict = {}


def hf_then_ours(name: str, task: str, tmp_path_factory, **overrides):
    """HF builds a random model and saves it; ours loads the folder (cached per family, task and config)."""
    key = (name, task, tuple(sorted(overrides.items())))
    if key not in _PAIRS:
        family = FAMILIES[name]
        ours_class, hf_class = family.classes(task)
        torch.manual_seed(0)
        hf = hf_class(family.hf_config(**overrides))
        folder = tmp_path_factory.mktemp(f"{name}-{task}")
        hf.save_pretrained(folder)
        _PAIRS[key] = (ours_class.from_pretrained(folder), hf, folder)
    return _PAIRS[key]


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name,task", CASES, ids=[f"{name}-{task}" for name, task in CASES])
def test_head_matches_hf(name, task, train_mode, padded, tmp_path_factory):
    family = FAMILIES[name]
    ours, hf, _ = hf_then_ours(name, task, tmp_path_factory)
    ours.train(train_mode)
    hf.train(train_mode)
    ours.zero_grad()
    hf.zero_grad()
    choices = 4 if task == "ForMultipleChoice" else None
    inputs = {**make_inputs(family, choices=choices, padded=padded), **make_labels(task)}
    mask = inputs["attention_mask"]
    ours_out = ours(**inputs, output_hidden_states=True, output_attentions=True)
    hf_out = hf(**inputs, output_hidden_states=True, output_attentions=True)
    span_in_padding = padded and task == "ForQuestionAnswering"  # we rule out answers in padding, HF scores them
    fields = ["logits", "start_logits", "end_logits", "last_hidden_state", "pooler_output"]
    assert_same_outputs(ours_out, hf_out, mask, fields if span_in_padding else ["loss", *fields])
    if train_mode and task != "Model" and not span_in_padding:
        ours_out[0].backward()
        hf_out[0].backward()
        ours_params = dict(ours.named_parameters())
        checked = 0
        for param_name, param in hf.named_parameters():
            if param.grad is not None and param_name in ours_params:
                torch.testing.assert_close(ours_params[param_name].grad, param.grad, atol=1e-5, rtol=1e-4, msg=param_name)
                checked += 1
        assert checked >= len(ours_params) - 2, (checked, len(ours_params))


@pytest.mark.parametrize("name,task", CASES, ids=[f"{name}-{task}" for name, task in CASES])
def test_ours_saves_hf_loads(name, task, tmp_path):
    family = FAMILIES[name]
    ours_class, hf_class = family.classes(task)
    torch.manual_seed(0)
    ours = ours_class(getattr(tuneformers, family.prefix + "Config")(**family.config)).eval()
    ours.save_pretrained(tmp_path)
    hf = hf_class.from_pretrained(tmp_path, attn_implementation="eager").eval()
    choices = 4 if task == "ForMultipleChoice" else None
    inputs = {**make_inputs(family, choices=choices), **make_labels(task)}
    fields = ["logits", "start_logits", "end_logits", "last_hidden_state"]
    with torch.no_grad():
        assert_same_outputs(ours(**inputs), hf(**inputs), inputs["attention_mask"], fields)
    reloaded = ours_class.from_pretrained(tmp_path)
    for key, value in ours.state_dict().items():
        assert torch.equal(value, reloaded.state_dict()[key]), key
    if task == "ForMaskedLM" and reloaded.tied_weights:
        embeddings = reloaded.get_input_embeddings().weight
        assert any(module.weight is embeddings for module in reloaded.modules()
                   if isinstance(module, torch.nn.Linear)), "the decoder must stay tied to the embeddings"
    if task != "Model":
        assert reloaded.base_model is getattr(reloaded, ours_class.base_model_prefix)


@pytest.mark.parametrize(
    "problem_type,labels",
    [
        ("regression", torch.tensor([0.5, 1.5, -1.0])),
        ("single_label_classification", torch.tensor([0, 2, 1])),
        ("multi_label_classification", torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])),
        (None, torch.tensor([0, 2, 1])),
    ],
)
@pytest.mark.parametrize("name", list(FAMILIES))
def test_sequence_classification_losses_match_hf(name, problem_type, labels, tmp_path_factory):
    num_labels = 1 if problem_type == "regression" else 3
    ours, hf, _ = hf_then_ours(name, "ForSequenceClassification", tmp_path_factory, num_labels=num_labels,
                               problem_type=problem_type)
    ours.eval(), hf.eval()
    inputs = make_inputs(FAMILIES[name])
    with torch.no_grad():
        torch.testing.assert_close(ours(**inputs, labels=labels).loss, hf(**inputs, labels=labels).loss,
                                   atol=1e-6, rtol=1e-6)
    assert ours.config.problem_type == problem_type, "forward must not write to the config"


def test_modernbert_sparse_prediction_scores_only_labelled_tokens_as_hf(tmp_path_factory):
    ours, hf, _ = hf_then_ours("modernbert", "ForMaskedLM", tmp_path_factory, sparse_prediction=True)
    inputs = {**make_inputs(FAMILIES["modernbert"]), **make_labels("ForMaskedLM")}
    with torch.no_grad():
        ours_out, hf_out = ours.eval()(**inputs), hf.eval()(**inputs)
    assert ours_out.logits.shape == (3, 99)  # one row per labelled token
    torch.testing.assert_close(ours_out.logits, hf_out.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_out.loss, hf_out.loss, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_auto_classes_dispatch_on_model_type(name, tmp_path_factory):
    _, _, folder = hf_then_ours(name, "ForSequenceClassification", tmp_path_factory)
    prefix = FAMILIES[name].prefix
    assert type(tuneformers.AutoConfig.from_pretrained(folder)).__name__ == prefix + "Config"
    assert type(tuneformers.AutoModel.from_pretrained(folder)).__name__ == prefix + "Model"
    model = tuneformers.AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3,
                                                                      ignore_mismatched_sizes=True)
    assert type(model).__name__ == prefix + "ForSequenceClassification" and model.config.num_labels == 3


@pytest.mark.parametrize("name", list(FAMILIES))
def test_padding_is_exact_and_gradient_checkpointing_agrees(name):
    """The real tokens of a padded row give the same hidden states as the row alone; checkpointing changes nothing."""
    family = FAMILIES[name]
    config = getattr(tuneformers, family.prefix + "Config")(**family.config)
    torch.manual_seed(0)
    model = getattr(tuneformers, family.prefix + "ForMaskedLM")(config).eval()
    inputs = make_inputs(family)
    with torch.no_grad():
        padded = model.base_model(**inputs).last_hidden_state[:1, :5]
        alone = model.base_model(**{key: value[:1, :5] for key, value in inputs.items()}).last_hidden_state
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)
    labels = make_labels("ForMaskedLM")
    model.train()
    loss = model(**inputs, **labels).loss
    grad = torch.autograd.grad(loss, model.get_input_embeddings().weight)[0]
    model.gradient_checkpointing_enable()
    loss_checkpointed = model(**inputs, **labels).loss
    grad_checkpointed = torch.autograd.grad(loss_checkpointed, model.get_input_embeddings().weight)[0]
    torch.testing.assert_close(loss, loss_checkpointed)
    torch.testing.assert_close(grad, grad_checkpointed)


GOLDEN = {"mpnet": [-1.206193, 0.233354, -2.248632], "deberta-v3": [0.928479, 1.336155, -0.916930],
          "deberta-v2": [0.251960, -0.063036, -0.585561],
          "modernbert": [1.005585, 0.732016, -0.126858], "modernbert-mean": [1.182552, -0.001017, -1.462072]}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_golden_value_without_oracle(name):
    """A fixed-seed figure so the forward pass stays pinned even where HF is not installed."""
    family = FAMILIES[name]
    torch.manual_seed(0)
    model = getattr(tuneformers, family.prefix + "Model")(getattr(tuneformers, family.prefix + "Config")(**family.config))
    with torch.no_grad():
        out = model.eval()(**make_inputs(family)).last_hidden_state
    torch.testing.assert_close(out[1, 0, :3], torch.tensor(GOLDEN[name]), atol=1e-4, rtol=0)


# ---- the real all-mpnet-base-v2 ------------------------------------------------------------------------


@pytest.mark.slow
def test_real_mpnet_hidden_states_match_hf(mpnet_dir):
    texts = [example.text for example in tuneformers.load_rotten_tomatoes(max_examples=16)]
    tokenizer = tuneformers.AutoTokenizer.from_pretrained(mpnet_dir)
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    ours = tuneformers.AutoModel.from_pretrained(mpnet_dir)
    hf = transformers.AutoModel.from_pretrained(str(mpnet_dir), attn_implementation="eager").eval()
    assert type(ours).__name__ == "MPNetModel" and ours.config.num_hidden_layers == 12
    with torch.no_grad():
        assert_same_outputs(ours(**inputs, output_hidden_states=True), hf(**inputs, output_hidden_states=True),
                            inputs["attention_mask"], ["last_hidden_state", "pooler_output"])


@pytest.mark.slow
def test_real_mpnet_fine_tune_steps_lower_the_loss(mpnet_dir):
    examples = tuneformers.load_rotten_tomatoes(max_examples=16)
    tokenizer = tuneformers.AutoTokenizer.from_pretrained(mpnet_dir)
    batch = tokenizer([example.text for example in examples], padding=True, truncation=True, max_length=64,
                      return_tensors="pt")
    labels = torch.tensor([example.label for example in examples])
    torch.manual_seed(0)
    model = tuneformers.AutoModelForSequenceClassification.from_pretrained(mpnet_dir, num_labels=2).train()
    optimizer = tuneformers.AdamW(model.parameters(), lr=5e-5)
    losses = []
    for _ in range(5):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.9 * losses[0], losses  # 0.691 -> 0.573 measured
