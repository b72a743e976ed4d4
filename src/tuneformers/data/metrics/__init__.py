"""Metrics: GLUE's (accuracy, F1, accuracy+F1, Matthews correlation, Pearson/Spearman) and the
classification / regression metrics that `tuneformers train` and `evaluate` report.

scikit-learn and scipy are imported inside the functions (they come with ``tuneformers[train]``),
so this module imports with numpy alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...utils import require

__all__ = [
    "simple_accuracy",
    "acc_and_f1",
    "matthews_correlation",
    "pearson_and_spearman",
    "glue_compute_metrics",
    "GLUE_TASK_METRICS",
    "task_metrics",
    "majority_accuracy",
]


def _pair(preds: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.shape != labels.shape:
        raise ValueError(
            f"Predictions and labels must have the same shape, got {preds.shape} and {labels.shape}. "
            "For classification pass class ids (e.g. logits.argmax(-1)), not logits."
        )
    if preds.size == 0:
        raise ValueError("Cannot compute a metric on zero predictions.")
    return preds, labels


def simple_accuracy(preds: Any, labels: Any) -> float:
    """Fraction of predictions equal to their label."""
    preds, labels = _pair(preds, labels)
    return float((preds == labels).mean())


def acc_and_f1(preds: Any, labels: Any) -> dict[str, float]:
    """Accuracy, binary F1 of class 1, and their mean (MRPC, QQP)."""
    preds, labels = _pair(preds, labels)
    metrics = require("sklearn.metrics", "train", "The F1 metric")
    accuracy = simple_accuracy(preds, labels)
    f1 = float(metrics.f1_score(y_true=labels, y_pred=preds))
    return {"acc": accuracy, "f1": f1, "acc_and_f1": (accuracy + f1) / 2}


def matthews_correlation(preds: Any, labels: Any) -> float:
    """Matthews correlation coefficient (CoLA)."""
    preds, labels = _pair(preds, labels)
    metrics = require("sklearn.metrics", "train", "The Matthews correlation metric")
    return float(metrics.matthews_corrcoef(labels, preds))


def pearson_and_spearman(preds: Any, labels: Any) -> dict[str, float]:
    """Pearson and Spearman correlations and their mean (STS-B)."""
    preds, labels = _pair(preds, labels)
    stats = require("scipy.stats", "train", "The Pearson/Spearman metrics")
    pearson = float(stats.pearsonr(preds, labels)[0])
    spearman = float(stats.spearmanr(preds, labels)[0])
    return {"pearson": pearson, "spearmanr": spearman, "corr": (pearson + spearman) / 2}


# task -> metric; MNLI's matched and mismatched sets are separate tasks ("mnli", "mnli-mm").
GLUE_TASK_METRICS = {
    "cola": lambda p, l: {"mcc": matthews_correlation(p, l)},
    "sst-2": lambda p, l: {"acc": simple_accuracy(p, l)},
    "mrpc": acc_and_f1,
    "sts-b": pearson_and_spearman,
    "qqp": acc_and_f1,
    "mnli": lambda p, l: {"mnli/acc": simple_accuracy(p, l)},
    "mnli-mm": lambda p, l: {"mnli-mm/acc": simple_accuracy(p, l)},
    "qnli": lambda p, l: {"acc": simple_accuracy(p, l)},
    "rte": lambda p, l: {"acc": simple_accuracy(p, l)},
    "wnli": lambda p, l: {"acc": simple_accuracy(p, l)},
}


def glue_compute_metrics(task_name: str, preds: Any, labels: Any) -> dict[str, float]:
    """The official metric(s) of a GLUE task, as a dict; ``task_name`` as in ``glue_processors``."""
    task = task_name.lower()
    if task not in GLUE_TASK_METRICS:
        raise KeyError(f"Unknown GLUE task {task_name!r}; choose one of: {', '.join(GLUE_TASK_METRICS)}.")
    return GLUE_TASK_METRICS[task](preds, labels)


def task_metrics(task: str, predictions: Any, labels: Any) -> dict[str, float]:
    """Classification (logits or class ids): accuracy and macro F1 over the classes that occur.
    Regression: MSE, and Pearson and Spearman correlations when both sides vary."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if task == "regression":
        predictions = predictions.reshape(-1).astype(np.float64)
        labels = labels.reshape(-1).astype(np.float64)
        metrics = {"mse": float(np.mean((predictions - labels) ** 2))}
        if len(labels) > 1 and np.std(predictions) > 0 and np.std(labels) > 0:
            correlations = pearson_and_spearman(predictions, labels)
            metrics.update(pearson=correlations["pearson"], spearmanr=correlations["spearmanr"])
        return metrics
    predicted = predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions
    metrics = {"accuracy": float(np.mean(predicted == labels))}
    f1s = []
    for index in np.union1d(np.unique(predicted), np.unique(labels)):
        true_positive = float(np.sum((predicted == index) & (labels == index)))
        predicted_count, actual_count = float(np.sum(predicted == index)), float(np.sum(labels == index))
        f1s.append(2 * true_positive / (predicted_count + actual_count))
    metrics["f1_macro"] = float(np.mean(f1s)) if f1s else 0.0
    return metrics


def majority_accuracy(label_ids: Sequence[int]) -> float:
    """Accuracy of always answering the most frequent class: the baseline a classifier must beat."""
    return Counter(label_ids).most_common(1)[0][1] / len(label_ids) if label_ids else float("nan")
