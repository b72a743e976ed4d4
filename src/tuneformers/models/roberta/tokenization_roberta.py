"""RoBERTa's tokenizer: byte-level BPE (vocab.json + merges.txt, or tokenizer.json) on the ``tokenizers``
library, and the ``<s> A </s></s> B </s>`` special-token layout that XLM-RoBERTa and CamemBERT share. No torch.

``RobertaTokenizer`` (the "slow" name) is the same Rust backend: a pure-Python byte-level BPE would need the
``regex`` package for GPT-2's pre-tokenisation pattern and would only be slower, with the same ids.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE

from ...constants import MERGES_FILE, TOKENIZER_FILE, VOCAB_JSON_FILE
from ...tokenization_utils_fast import PreTrainedTokenizerFast
from ...truncation import Segment
from ...utils import atomic_write_text
from ..bert.tokenization_bert_fast import text_batches

ROBERTA_SPECIAL_TOKENS = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                              pad_token="<pad>", mask_token="<mask>")


class RobertaSpecialTokenLayout:
    """The special-token layout of RoBERTa, XLM-RoBERTa, CamemBERT and MPNet: ``<s> A </s>`` and
    ``<s> A </s></s> B </s>``, no token types (all zeros when asked for). A mixin before a tokenizer class."""

    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")

    def build_inputs_with_special_tokens(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        if pair_ids is None:
            return [self.cls_token_id, *ids, self.sep_token_id]
        return [self.cls_token_id, *ids, self.sep_token_id, self.sep_token_id, *pair_ids, self.sep_token_id]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        return [0] * len(self.build_inputs_with_special_tokens(ids, pair_ids))

    def get_special_tokens_mask(self, ids: list[int], pair_ids: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            return super().get_special_tokens_mask(ids, already_has_special_tokens=True)
        mask = [1] + [0] * len(ids) + [1]
        return mask if pair_ids is None else mask + [1] + [0] * len(pair_ids) + [1]


class RobertaLayoutTokenizer(RobertaSpecialTokenLayout, PreTrainedTokenizerFast):
    """A fast tokenizer with RoBERTa's layout and special tokens (``<s>``, ``</s>``, ``<pad>``, ...)."""

    def __init__(self, tokenizer_file=None, **kwargs: Any):
        for name, token in ROBERTA_SPECIAL_TOKENS.items():
            kwargs.setdefault(name, token)
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(tokenizer_file, **kwargs)


class RobertaTokenizerFast(RobertaLayoutTokenizer):
    """Byte-level BPE: text is split GPT-2 style, each piece mapped to bytes, then merged by merges.txt.

    A word gets a different token with a leading space (``Ġword``) than at the very start of the text;
    ``add_prefix_space=True`` treats the first word like the others (needed for ``is_split_into_words``).
    """

    vocab_file_names: ClassVar[dict[str, str]] = {"vocab_file": VOCAB_JSON_FILE, "merges_file": MERGES_FILE,
                                                  "tokenizer_file": TOKENIZER_FILE}
    vocab_files: ClassVar[tuple[str, ...]] = (VOCAB_JSON_FILE, MERGES_FILE, TOKENIZER_FILE)
    init_options: ClassVar[tuple[str, ...]] = ("add_prefix_space", "trim_offsets")

    def __init__(self, vocab_file: str | Path | None = None, merges_file: str | Path | None = None,
                 tokenizer_file: str | Path | None = None, add_prefix_space: bool | None = None,
                 trim_offsets: bool = True, **kwargs: Any):
        self.add_prefix_space, self.trim_offsets = add_prefix_space, trim_offsets
        backend = None
        if (tokenizer_file is None or not Path(tokenizer_file).is_file()) and vocab_file is not None:
            if merges_file is None:
                raise ValueError(f"{type(self).__name__} needs {MERGES_FILE} beside {vocab_file}.")
            backend = Tokenizer(BPE.from_file(str(vocab_file), str(merges_file), continuing_subword_prefix="",
                                              end_of_word_suffix="", fuse_unk=False))
        super().__init__(tokenizer_file, tokenizer_object=backend, **kwargs)

    def _configure_backend(self, backend: Tokenizer) -> Tokenizer:
        if self.add_prefix_space is None:  # keep what tokenizer.json says
            self.add_prefix_space = bool(getattr(backend.pre_tokenizer, "add_prefix_space", False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=self.add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        # with add_special_tokens=False it only trims the leading space off each token's char offsets
        sep, cls = (str(token) for token in (self.sep_token, self.cls_token))
        backend.post_processor = processors.RobertaProcessing(
            (sep, backend.token_to_id(sep) or 0), (cls, backend.token_to_id(cls) or 0),
            trim_offsets=self.trim_offsets, add_prefix_space=self.add_prefix_space)
        return backend

    def train_new_from_iterator(self, text_iterator: Iterable[str] | Iterable[list[str]], vocab_size: int,
                                min_frequency: int = 2, length: int | None = None,
                                show_progress: bool = False) -> RobertaTokenizerFast:
        """A new byte-level BPE tokenizer trained on ``text_iterator`` (strings, or batches of strings), with
        this one's special tokens and options; the text is streamed."""
        return train_roberta_tokenizer(text_iterator, vocab_size, min_frequency=min_frequency, length=length,
                                       show_progress=show_progress, add_prefix_space=self.add_prefix_space,
                                       trim_offsets=self.trim_offsets, model_max_length=self.model_max_length,
                                       **self.named_special_tokens())

    def _encode_texts(self, texts, is_split_into_words: bool) -> list[Segment]:
        if is_split_into_words and not self.add_prefix_space:
            raise ValueError(f"{type(self).__name__} needs add_prefix_space=True for is_split_into_words=True: pass it to "
                             "from_pretrained(..., add_prefix_space=True).")
        return super()._encode_texts(texts, is_split_into_words)

    def _save_vocabulary(self, folder: Path) -> None:
        super()._save_vocabulary(folder)
        model = json.loads(self._backend.to_str())["model"]
        atomic_write_text(folder / VOCAB_JSON_FILE, json.dumps(model["vocab"], ensure_ascii=False) + "\n")
        merges = ["#version: 0.2"] + [" ".join(merge) if isinstance(merge, list) else merge for merge in model["merges"]]
        atomic_write_text(folder / MERGES_FILE, "\n".join(merges) + "\n")


class RobertaTokenizer(RobertaTokenizerFast):
    """The same tokenizer as RobertaTokenizerFast (one Rust backend; see the module docstring)."""


def train_roberta_tokenizer(text_iterator: Iterable[str] | Iterable[list[str]], vocab_size: int, min_frequency: int = 2,
                            length: int | None = None, show_progress: bool = False,
                            **options: Any) -> RobertaTokenizerFast:
    """Train a byte-level BPE vocabulary of at most ``vocab_size`` entries (the 256 byte symbols included) on
    streamed text, as RoBERTa's own was trained.

    ``options`` are RobertaTokenizerFast arguments (special tokens, ``add_prefix_space``, ...). The special
    tokens take the first ids in RoBERTa's order (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, then
    ``<mask>``), so RobertaConfig's default token ids fit; the saved folder loads in tuneformers and in HF.
    """
    tokens = {name: options.get(name, ROBERTA_SPECIAL_TOKENS[name])
              for name in ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token")}
    names = list(dict.fromkeys(str(token) for token in tokens.values() if token is not None))
    # as in RoBERTa's own file, the mask takes the space before it: "a <mask>" is "Ġa <mask>", so the model
    # predicts the word with its space ("Ġword"), the form it saw in training
    specials = [AddedToken(name, lstrip=name == str(tokens["mask_token"]), special=True) for name in names]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size <= len(specials) + len(alphabet):
        raise ValueError(f"vocab_size={vocab_size} leaves no room for merges beside the {len(alphabet)} byte symbols "
                         f"and {len(names)} special tokens; use a few thousand (RoBERTa uses 50265).")
    backend = Tokenizer(BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=bool(options.get("add_prefix_space")))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=alphabet, show_progress=show_progress)
    backend.train_from_iterator(text_batches(text_iterator), trainer=trainer, length=length)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / TOKENIZER_FILE
        backend.save(str(path))
        return RobertaTokenizerFast(tokenizer_file=path, **options)
