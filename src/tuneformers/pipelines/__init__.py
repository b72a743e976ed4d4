"""``pipeline(task, model=..., tokenizer=...)``: a fine-tuned model ready to use on raw text.

Tasks: text-classification (alias sentiment-analysis), token-classification (alias ner),
question-answering, fill-mask, feature-extraction. ``model`` is a folder or hub name (loaded with the
task's Auto class) or a model object; ``tokenizer`` defaults to the model's folder. ``device`` is "cpu",
"cuda", "cuda:1", an int (-1 for the CPU) or a torch.device; ``batch_size`` sets how many inputs (or
windows) run through the model at once. Other keywords are the task's default call options
(e.g. ``aggregation_strategy="simple"``, ``top_k=3``).
"""

from __future__ import annotations

import os
from typing import Any

from ..models.auto.modeling_auto import (AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering,
                                         AutoModelForSequenceClassification, AutoModelForTokenClassification)
from ..models.auto.tokenization_auto import AutoTokenizer
from ..typed_dataclass import did_you_mean
from .base import Pipeline
from .feature_extraction import FeatureExtractionPipeline
from .fill_mask import FillMaskPipeline
from .question_answering import QuestionAnsweringPipeline
from .text_classification import TextClassificationPipeline
from .token_classification import TokenClassificationPipeline

__all__ = ["pipeline", "Pipeline", "SUPPORTED_TASKS", "TextClassificationPipeline", "TokenClassificationPipeline",
           "QuestionAnsweringPipeline", "FillMaskPipeline", "FeatureExtractionPipeline"]

SUPPORTED_TASKS: dict[str, tuple[type[Pipeline], Any]] = {
    "text-classification": (TextClassificationPipeline, AutoModelForSequenceClassification),
    "token-classification": (TokenClassificationPipeline, AutoModelForTokenClassification),
    "question-answering": (QuestionAnsweringPipeline, AutoModelForQuestionAnswering),
    "fill-mask": (FillMaskPipeline, AutoModelForMaskedLM),
    "feature-extraction": (FeatureExtractionPipeline, AutoModel),
}
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}


def pipeline(task: str, model: Any = None, tokenizer: Any = None, device: Any = None, batch_size: int = 1,
             model_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> Pipeline:
    """Build the pipeline for ``task`` around ``model`` (a path, a hub name or a model object)."""
    task = TASK_ALIASES.get(task, task)
    if task not in SUPPORTED_TASKS:
        known = sorted([*SUPPORTED_TASKS, *TASK_ALIASES])
        raise KeyError(f"Unknown pipeline task {task!r}.{did_you_mean(task, known)} Supported tasks: {', '.join(known)}.")
    pipeline_class, auto_class = SUPPORTED_TASKS[task]
    if model is None:
        raise ValueError(f"pipeline({task!r}) needs model=...: a fine-tuned folder, a hub name such as "
                         "'sentence-transformers/all-MiniLM-L6-v2', or a model object (there is no default download).")
    if isinstance(model, (str, os.PathLike)):
        source = model
        model = auto_class.from_pretrained(model, **(model_kwargs or {}))
    else:
        source = getattr(model, "name_or_path", None)
    if tokenizer is None:
        if not source:
            raise ValueError("Pass tokenizer=...: the model object does not say which folder it came from.")
        tokenizer = source
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    return pipeline_class(model, tokenizer, device=device, batch_size=batch_size, **kwargs)
