"""Pure name maps between PyTorch BERT parameter names and TensorFlow BERT weight names.

No framework imports: these functions only rewrite strings, so both sides (and the tests) can use them.
Importing this module registers the maps for ``model_type='bert'`` (the PyTorch and TF BERT modules import it).

The TensorFlow names are the ones HF transformers 4.x wrote into ``tf_model.h5`` files, without the
model-class scope and the ``:0`` suffix, for example::

    PyTorch                                                TensorFlow                                    transpose
    bert.embeddings.word_embeddings.weight                 bert/embeddings/word_embeddings/weight        no
    bert.embeddings.position_embeddings.weight             bert/embeddings/position_embeddings/embeddings no
    bert.embeddings.LayerNorm.weight / .bias               bert/embeddings/LayerNorm/gamma / beta        no
    bert.encoder.layer.3.attention.self.query.weight       bert/encoder/layer_._3/attention/self/query/kernel  yes
    cls.predictions.bias                                   mlm___cls/predictions/bias                    no

A Dense ``kernel`` is (in, out) while a torch Linear ``weight`` is (out, in), hence the transpose.
"""

from __future__ import annotations

import re

from ...modeling_tf_pytorch_utils import WeightNameMap, register_weight_name_map

# PyTorch names that have no TensorFlow counterpart: tied or derived tensors, and heads we do not build.
PT_ONLY_PATTERNS = (
    r"(^|\.)position_ids$",
    r"^cls\.predictions\.decoder\.(weight|bias)$",  # tied to the word embeddings / cls.predictions.bias
    r"^cls\.seq_relationship\.",  # next-sentence head of pre-training checkpoints
)

# TensorFlow scopes whose name differs from the PyTorch attribute: HF 4.x called the MLM head "mlm___cls".
_PT_TO_TF_SCOPE = {"cls": "mlm___cls"}
_EMBEDDING_TABLES = {"position_embeddings", "token_type_embeddings"}  # stored as ".../embeddings" in TF


def is_pt_only(pt_name: str) -> bool:
    """True for PyTorch state-dict entries that a TensorFlow model does not store."""
    return any(re.search(pattern, pt_name) for pattern in PT_ONLY_PATTERNS)


def pt_to_tf_name(pt_name: str) -> tuple[str, bool]:
    """PyTorch parameter name -> (TensorFlow weight name, whether the array must be transposed)."""
    parts = pt_name.split(".")
    *scopes, leaf = parts
    if leaf in ("gamma", "beta"):  # 2018-era checkpoints named LayerNorm parameters like TF
        leaf = "weight" if leaf == "gamma" else "bias"
    parent = scopes[-1] if scopes else ""
    transpose = False
    if parent == "LayerNorm" or parent.endswith("layer_norm"):  # other families: lm_head.layer_norm, sa_layer_norm
        leaf = {"weight": "gamma", "bias": "beta"}[leaf]
    elif parent == "word_embeddings":
        pass  # HF 4.x kept "weight" for the word table
    elif parent in _EMBEDDING_TABLES:
        leaf = "embeddings"
    elif leaf == "weight":
        leaf, transpose = "kernel", True
    tf_scopes: list[str] = []
    for index, scope in enumerate(scopes):
        if scope.isdigit() and tf_scopes and tf_scopes[-1] == "layer":
            tf_scopes[-1] = f"layer_._{scope}"
        elif index == 0 and scope in _PT_TO_TF_SCOPE:
            tf_scopes.append(_PT_TO_TF_SCOPE[scope])
        else:
            tf_scopes.append(scope)
    return "/".join([*tf_scopes, leaf]), transpose


def tf_to_pt_name(tf_name: str) -> tuple[str, bool]:
    """TensorFlow weight name (with or without a model scope and ``:0``) -> (PyTorch name, transpose?).

    Accepts the names as stored (``tf_bert_for_sequence_classification/bert/...:0``) or already
    stripped (``bert/...``). ``prefix___name`` scopes become ``name``, as HF 4.x did.
    """
    name = tf_name.removesuffix(":0")
    parts = [part for part in name.split("/") if part]
    if parts and parts[0].startswith("tf_") and len(parts) > 1:
        parts = parts[1:]  # the Keras model's own scope, e.g. tf_bert_model
    *scopes, leaf = parts
    transpose = False
    if leaf == "kernel":
        leaf, transpose = "weight", True
    elif leaf in ("gamma", "embeddings"):
        leaf = "weight"
    elif leaf == "beta":
        leaf = "bias"
    pt_scopes: list[str] = []
    for scope in scopes:
        scope = scope.split("___")[-1]
        match = re.fullmatch(r"(\w+?)_\._(\d+)", scope)
        pt_scopes.extend([match.group(1), match.group(2)] if match else [scope])
    return ".".join([*pt_scopes, leaf]), transpose


register_weight_name_map("bert", WeightNameMap(pt_to_tf_name, tf_to_pt_name, is_pt_only))
