"""Pure name maps between PyTorch and TensorFlow DistilBERT weights. No framework.

BERT's rules (models/bert/convert_bert.py) under the ``distilbert`` scope, for example::

    PyTorch                                            TensorFlow (HF 4.x tf_model.h5)
    distilbert.embeddings.position_embeddings.weight   distilbert/embeddings/position_embeddings/embeddings
    distilbert.transformer.layer.0.attention.q_lin.weight
                                                       distilbert/transformer/layer_._0/attention/q_lin/kernel (transposed)
    distilbert.transformer.layer.0.sa_layer_norm.weight
                                                       distilbert/transformer/layer_._0/sa_layer_norm/gamma
    vocab_projector.bias                               vocab_projector/bias
    vocab_projector.weight                             (none: tied to the word embeddings)
"""

from __future__ import annotations

import re

from ...modeling_tf_pytorch_utils import WeightNameMap, register_weight_name_map
from ..bert.convert_bert import pt_to_tf_name, tf_to_pt_name

PT_ONLY_PATTERNS = (r"(^|\.)position_ids$", r"^vocab_projector\.weight$")


def is_pt_only(pt_name: str) -> bool:
    return any(re.search(pattern, pt_name) for pattern in PT_ONLY_PATTERNS)


register_weight_name_map("distilbert", WeightNameMap(pt_to_tf_name, tf_to_pt_name, is_pt_only))
