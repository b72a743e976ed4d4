"""PreTrainedTokenizerFast: any tokenizer.json (BPE, Unigram, WordPiece) on the Rust ``tokenizers`` library,
with its special-token layout read from the file's post-processor, as HF does. No torch.

The backend only turns text into pieces (its post-processor still trims offsets where it does so, but adds
no special tokens): special tokens, truncation and padding come from the shared layer in tokenization_utils.
Families whose tokenizer is such a file (DeBERTa-v2/v3, ModernBERT) subclass this one with their defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from tokenizers import Tokenizer

from .constants import TOKENIZER_FILE
from .tokenization_utils import PreTrainedTokenizerBase
from .truncation import Segment
from .utils import atomic_path

Template = list[tuple[str, Any, int]]
"""("special", token id, type id) or ("sequence", "A" / "B", type id), in order."""


def templates_from_post_processor(processor: dict | None, token_ids: dict[str, int]) -> tuple[Template, Template] | None:
    """The single and pair layouts a tokenizer.json post-processor describes (None: no special tokens known)."""
    if not processor:
        return None
    kind = processor.get("type")
    if kind == "Sequence":
        layouts = [templates_from_post_processor(part, token_ids) for part in processor.get("processors", [])]
        return next((layout for layout in layouts if layout is not None), None)
    if kind == "TemplateProcessing":
        specials = {name: entry["ids"] for name, entry in processor.get("special_tokens", {}).items()}

        def parse(items: list[dict]) -> Template:
            template: Template = []
            for item in items:
                if "SpecialToken" in item:
                    template += [("special", index, item["SpecialToken"]["type_id"])
                                 for index in specials[item["SpecialToken"]["id"]]]
                else:
                    template.append(("sequence", item["Sequence"]["id"], item["Sequence"]["type_id"]))
            return template

        return parse(processor["single"]), parse(processor["pair"])
    if kind in ("BertProcessing", "RobertaProcessing"):
        cls, sep = processor["cls"][1], processor["sep"][1]
        single = [("special", cls, 0), ("sequence", "A", 0), ("special", sep, 0)]
        if kind == "BertProcessing":
            return single, single + [("sequence", "B", 1), ("special", sep, 1)]
        return single, single + [("special", sep, 0), ("sequence", "B", 0), ("special", sep, 0)]
    return None


class PreTrainedTokenizerFast(PreTrainedTokenizerBase):
    """A tokenizer.json tokenizer. Special tokens come from tokenizer_config.json / keyword arguments; the layout
    from the post-processor in tokenizer.json (TemplateProcessing, BertProcessing, RobertaProcessing), else
    BERT's ``[CLS] A [SEP] B [SEP]``."""

    vocab_files: ClassVar[tuple[str, ...]] = (TOKENIZER_FILE,)
    init_options: ClassVar[tuple[str, ...]] = ("bos_token", "eos_token", "model_input_names")
    tracks_offsets: ClassVar[bool] = True

    def __init__(self, tokenizer_file: str | Path, bos_token: str | None = None, eos_token: str | None = None,
                 model_input_names: list[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.bos_token, self.eos_token = bos_token, eos_token
        if model_input_names is not None:
            self.model_input_names = tuple(model_input_names)
        try:
            backend = Tokenizer.from_file(str(tokenizer_file))
        except Exception as error:  # the Rust library raises plain Exception
            raise ValueError(f"Could not read {tokenizer_file}: {error}. It must be a tokenizer.json written by the "
                             "tokenizers library or save_pretrained.") from error
        backend.no_truncation()  # the shared layer truncates and pads
        backend.no_padding()
        backend.add_special_tokens([token for token in self.all_special_tokens
                                    if token not in backend.get_vocab(with_added_tokens=True)])
        self._backend = backend
        self._vocab = backend.get_vocab(with_added_tokens=True)
        for name, token in self.named_special_tokens().items():
            if token not in self._vocab:
                raise ValueError(f"{name}={token!r} is not in the vocabulary of {tokenizer_file}.")
        processor = json.loads(backend.to_str()).get("post_processor")
        self._templates = templates_from_post_processor(processor, self._vocab)

    @property
    def special_tokens_map(self) -> dict[str, str]:
        tokens = super().special_tokens_map
        for name in ("bos_token", "eos_token"):
            if getattr(self, name, None) is not None:
                tokens[name] = getattr(self, name)
        return tokens

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._backend

    def _token_to_id_map(self) -> dict[str, int]:
        return self._vocab

    def _add_to_vocabulary(self, tokens: list[str], special: bool) -> None:
        (self._backend.add_special_tokens if special else self._backend.add_tokens)(tokens)
        self._vocab = self._backend.get_vocab(with_added_tokens=True)

    def _id_to_token(self, index: int) -> str | None:
        return self._backend.id_to_token(index)

    @property
    def vocab_size(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True)

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes a string, got {type(text).__name__}.")
        return self._backend.encode(text, add_special_tokens=False).tokens

    def _encode_texts(self, texts, is_split_into_words: bool) -> list[Segment]:
        encodings = self._backend.encode_batch(texts, add_special_tokens=False, is_pretokenized=is_split_into_words)
        return [Segment(encoding.ids, encoding) for encoding in encodings]

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._backend.decode(ids, skip_special_tokens=skip_special_tokens)

    # ---- the special-token layout, from the post-processor's templates ----

    def _fill(self, ids: list[int], pair_ids: list[int] | None) -> list[tuple[int, int, int]]:
        """(token id, type id, is special) for each position of the laid-out sequence."""
        if self._templates is None:
            return [(i, t, s) for i, t, s in zip(super().build_inputs_with_special_tokens(ids, pair_ids),
                                                 super().create_token_type_ids_from_sequences(ids, pair_ids),
                                                 super().get_special_tokens_mask(ids, pair_ids))]
        template = self._templates[0 if pair_ids is None else 1]
        sequences = {"A": ids, "B": pair_ids or []}
        laid_out = []
        for kind, value, type_id in template:
            if kind == "special":
                laid_out.append((value, type_id, 1))
            else:
                laid_out += [(index, type_id, 0) for index in sequences[value]]
        return laid_out

    def build_inputs_with_special_tokens(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        return [index for index, _, _ in self._fill(ids, pair_ids)]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        return [type_id for _, type_id, _ in self._fill(ids, pair_ids)]

    def get_special_tokens_mask(self, ids: list[int], pair_ids: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            return super().get_special_tokens_mask(ids, pair_ids, True)
        return [special for _, _, special in self._fill(ids, pair_ids)]

    # ---- save / load ----

    def _config_dict(self) -> dict[str, Any]:
        config = super()._config_dict()
        config["model_input_names"] = list(self.model_input_names)
        if type(self) is PreTrainedTokenizerFast:
            config["tokenizer_class"] = "PreTrainedTokenizerFast"  # HF's generic class of the same name
        return config

    def _save_vocabulary(self, folder: Path) -> None:
        with atomic_path(folder / TOKENIZER_FILE) as temp_path:
            self._backend.save(str(temp_path))

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> PreTrainedTokenizerFast:
        if not (folder / TOKENIZER_FILE).is_file():
            raise FileNotFoundError(f"No {TOKENIZER_FILE} in {folder}; {cls.__name__} reads that file.")
        return cls(folder / TOKENIZER_FILE, **options)
