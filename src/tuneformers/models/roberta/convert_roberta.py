"""Pure name maps between PyTorch and TensorFlow RoBERTa weights (also XLM-RoBERTa and CamemBERT). No framework.

The names follow BERT's rules (models/bert/convert_bert.py) under the ``roberta`` scope, for example::

    PyTorch                                   TensorFlow (HF 4.x tf_model.h5)
    roberta.embeddings.position_embeddings.weight   roberta/embeddings/position_embeddings/embeddings
    classifier.out_proj.weight                classifier/out_proj/kernel (transposed)
    lm_head.layer_norm.weight                 lm_head/layer_norm/gamma
    lm_head.bias                              lm_head/bias
    lm_head.decoder.weight / .bias            (none: tied to the word embeddings / lm_head.bias)
"""

from __future__ import annotations

import re

from ...modeling_tf_pytorch_utils import WeightNameMap, register_weight_name_map
from ..bert.convert_bert import pt_to_tf_name, tf_to_pt_name

PT_ONLY_PATTERNS = (r"(^|\.)position_ids$", r"^lm_head\.decoder\.(weight|bias)$")


def is_pt_only(pt_name: str) -> bool:
    return any(re.search(pattern, pt_name) for pattern in PT_ONLY_PATTERNS)


for _model_type in ("roberta", "xlm-roberta", "camembert"):
    register_weight_name_map(_model_type, WeightNameMap(pt_to_tf_name, tf_to_pt_name, is_pt_only))
