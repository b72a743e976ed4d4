"""Held-out metrics for masked language modelling: perplexity and top-k accuracy on the masked tokens.

Language-model logits (B T V) are far too large to keep for a whole evaluation set, so each batch is
first reduced on the device to what the metrics need (``mlm_logits_for_metrics``), then the metrics
are computed once on the host (``compute_mlm_metrics``)::

    trainer = Trainer(model, args, data_collator=DataCollatorForLanguageModeling(tokenizer), ...,
                      preprocess_logits_for_metrics=mlm_logits_for_metrics, compute_metrics=compute_mlm_metrics)

Perplexity is exp(mean negative log-likelihood of the masked tokens), i.e. exp(eval_loss).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..constants import IGNORE_INDEX

__all__ = ["mlm_logits_for_metrics", "compute_mlm_metrics", "TOP_K"]

TOP_K = 5


def mlm_logits_for_metrics(logits: torch.Tensor, labels: torch.Tensor, top_k: int = TOP_K
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per token: the ``top_k`` most likely ids (B T K) and the log-probability of the label (B T; 0 where
    the label is ignored). Bind another ``top_k`` with ``functools.partial``."""
    if isinstance(logits, tuple):
        logits = logits[0]
    log_probs = torch.log_softmax(logits.float(), dim=-1)  # B T V
    top = log_probs.topk(min(top_k, logits.shape[-1]), dim=-1).indices  # B T K
    safe_labels = labels.clamp(min=0)
    true_log_prob = log_probs.gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)  # B T
    return top, true_log_prob.masked_fill(labels == IGNORE_INDEX, 0.0)


def compute_mlm_metrics(prediction: Any) -> dict[str, float]:
    """``perplexity``, ``accuracy`` (top 1) and ``top{K}_accuracy`` over the masked tokens of an EvalPrediction
    whose predictions come from ``mlm_logits_for_metrics``."""
    (top, true_log_prob), labels = prediction.predictions, prediction.label_ids
    top, true_log_prob, labels = np.asarray(top), np.asarray(true_log_prob), np.asarray(labels)
    chosen = labels != IGNORE_INDEX  # B T
    if not chosen.any():
        raise ValueError("The evaluation set has no masked tokens, so there is nothing to score; check that "
                         "the collator masks tokens (mlm=True, mlm_probability > 0).")
    target = labels[chosen]  # N
    hits = top[chosen] == target[:, None]  # N K
    mean_nll = -float(np.mean(true_log_prob[chosen], dtype=np.float64))
    return {
        "perplexity": math.exp(min(mean_nll, 700.0)),
        "accuracy": float(hits[:, 0].mean()),
        f"top{top.shape[-1]}_accuracy": float(hits.any(axis=1).mean()),
    }
