"""Names that several layers share: the files of model, tokenizer and checkpoint folders, and the label
id that losses ignore. One definition each, with the meanings HF transformers gives them. No torch.
"""

from __future__ import annotations

# ---- model folders (save_pretrained / from_pretrained)
CONFIG_NAME = "config.json"
SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
TF_WEIGHTS_NAME = "tf_model.h5"
PT_WEIGHT_FILES = (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_NAME, WEIGHTS_INDEX_NAME)
"""Files that hold PyTorch weights, in the order loading prefers them."""
WEIGHT_FILES = (*PT_WEIGHT_FILES, TF_WEIGHTS_NAME)

# ---- tokenizer folders
TOKENIZER_CONFIG_NAME = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_NAME = "special_tokens_map.json"
TOKENIZER_FILE = "tokenizer.json"
VOCAB_FILE = "vocab.txt"
ADDED_TOKENS_FILE = "added_tokens.json"
VOCAB_JSON_FILE = "vocab.json"  # byte-level BPE (RoBERTa): with MERGES_FILE
MERGES_FILE = "merges.txt"
TOKENIZER_FILES = (TOKENIZER_FILE, VOCAB_FILE, VOCAB_JSON_FILE)

# ---- Trainer checkpoint folders (checkpoint-<step>/): the weights are SAFE_WEIGHTS_NAME
TRAINER_STATE_NAME = "trainer_state.json"
OPTIMIZER_NAME = "optimizer.pt"
SCHEDULER_NAME = "scheduler.pt"
SCALER_NAME = "scaler.pt"
RNG_TENSORS_NAME = "rng_state.safetensors"
RNG_JSON_NAME = "rng_state.json"
TRAINING_ARGS_NAME = "training_args.json"
CHECKPOINT_PREFIX = "checkpoint"

# ---- run folders written by the `tuneformers` command
METRICS_NAME = "metrics.json"
PLOT_NAME = "training_plot.png"

IGNORE_INDEX = -100
"""Label id that every loss skips: padding, sub-word continuations, unmasked tokens."""
