"""GLUE metrics equal scikit-learn / scipy on random inputs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

from tuneformers.data.metrics import (
    acc_and_f1,
    glue_compute_metrics,
    matthews_correlation,
    pearson_and_spearman,
    simple_accuracy,
)


@pytest.fixture
def random_classes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=500)
    preds = np.where(rng.random(500) < 0.7, labels, 1 - labels)  # ~70 % right, so every metric is non-trivial
    return preds, labels


def test_classification_metrics_equal_scikit_learn(random_classes):
    preds, labels = random_classes
    assert simple_accuracy(preds, labels) == pytest.approx(metrics.accuracy_score(labels, preds), abs=1e-12)
    result = acc_and_f1(preds, labels)
    assert result["f1"] == pytest.approx(metrics.f1_score(labels, preds), abs=1e-12)
    assert result["acc_and_f1"] == pytest.approx((result["acc"] + result["f1"]) / 2)
    mcc = matthews_correlation(preds, labels)
    assert mcc == pytest.approx(metrics.matthews_corrcoef(labels, preds), abs=1e-12)
    assert 0.2 < mcc < 0.6
    assert glue_compute_metrics("CoLA", preds, labels) == {"mcc": mcc}
    assert glue_compute_metrics("mrpc", preds, labels) == result
    assert glue_compute_metrics("mnli-mm", preds, labels) == {"mnli-mm/acc": simple_accuracy(preds, labels)}


def test_regression_metrics_equal_scipy():
    rng = np.random.default_rng(1)
    labels = rng.uniform(0, 5, size=300)
    preds = labels + rng.normal(scale=1.5, size=300)
    result = glue_compute_metrics("sts-b", preds, labels)
    assert result["pearson"] == pytest.approx(stats.pearsonr(preds, labels)[0], abs=1e-12)
    assert result["spearmanr"] == pytest.approx(stats.spearmanr(preds, labels)[0], abs=1e-12)
    assert result == pearson_and_spearman(preds, labels)
    assert 0.5 < result["corr"] < 0.9


def test_metric_errors_name_the_problem():
    with pytest.raises(KeyError, match="'sst2'.*sst-2"):
        glue_compute_metrics("sst2", [1], [1])
    with pytest.raises(ValueError, match=r"same shape.*\(4, 2\) and \(4,\).*argmax"):
        simple_accuracy(np.zeros((4, 2)), np.zeros(4))


def test_missing_scikit_learn_says_which_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)  # makes `import sklearn.metrics` fail
    with pytest.raises(ImportError, match=r"scikit-learn|sklearn.*pip install 'tuneformers\[train\]'"):
        glue_compute_metrics("cola", [0, 1], [0, 1])
    assert glue_compute_metrics("sst-2", [0, 1], [0, 0]) == {"acc": 0.5}  # accuracy needs numpy only
