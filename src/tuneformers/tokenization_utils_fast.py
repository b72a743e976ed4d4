"""PreTrainedTokenizerFast: a tokenizer whose word pieces come from a ``tokenizers`` library backend
(tokenizer.json). No torch.

The backend only splits text into pieces and reports their char offsets; special tokens, truncation, overflow
windows and padding come from the shared layer in tokenization_utils. A family subclass builds the backend
from its own vocabulary files when there is no tokenizer.json, and states its special-token layout (see
tokenization_utils).
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


def read_tokenizer_file(path: str | Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust library raises plain Exception
        raise ValueError(f"Could not read {path}: {error}. Re-save the tokenizer or delete the file.") from error


class PreTrainedTokenizerFast(PreTrainedTokenizerBase):
    """A tokenizer on a ``tokenizers.Tokenizer`` backend: ``tokenizer_file`` (tokenizer.json) or ``tokenizer_object``.

    A family subclass takes its own vocabulary files as well (``vocab_file_names``: constructor argument -> file
    name), builds the backend from them when there is no tokenizer.json, and adjusts it in ``_configure_backend``.
    """

    vocab_file_names: ClassVar[dict[str, str]] = {"tokenizer_file": TOKENIZER_FILE}
    vocab_files: ClassVar[tuple[str, ...]] = (TOKENIZER_FILE,)
    tracks_offsets: ClassVar[bool] = True
    init_options: ClassVar[tuple[str, ...]] = ("model_input_names",)

    def __init__(self, tokenizer_file: str | Path | None = None, *, tokenizer_object: Tokenizer | None = None,
                 model_input_names: list[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if model_input_names is not None:  # e.g. ModernBERT's tokenizer_config.json leaves out token_type_ids
            self.model_input_names = tuple(model_input_names)
        if tokenizer_object is None:
            if tokenizer_file is None or not Path(tokenizer_file).is_file():
                files = " or ".join(self.vocab_file_names.values())
                raise ValueError(f"{type(self).__name__} needs its vocabulary ({files}); got tokenizer_file={tokenizer_file!r}.")
            tokenizer_object = read_tokenizer_file(tokenizer_file)
        backend = self._configure_backend(tokenizer_object)
        backend.no_truncation()  # the shared layer truncates and pads
        backend.no_padding()
        added = {token.content for token in backend.get_added_tokens_decoder().values()}
        backend.add_special_tokens([token for token in self.all_special_tokens if token not in added])  # keep their flags
        self._backend = backend
        self._vocab = backend.get_vocab(with_added_tokens=True)
        self._templates = templates_from_post_processor(json.loads(backend.to_str()).get("post_processor"), self._vocab)
        for name, token in self.named_special_tokens().items():
            if token not in self._vocab:
                raise ValueError(f"{name}={token!r} is not in the vocabulary of {tokenizer_file or type(self).__name__}.")

    def _configure_backend(self, backend: Tokenizer) -> Tokenizer:
        """The family's adjustments of a loaded backend (options such as add_prefix_space)."""
        return backend

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> PreTrainedTokenizerFast:
        files = {argument: folder / name for argument, name in cls.vocab_file_names.items() if (folder / name).is_file()}
        if not files:
            raise FileNotFoundError(f"No tokenizer files in {folder}: looked for {', '.join(cls.vocab_file_names.values())}.")
        return cls(**files, **options)

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
        # add_special_tokens=False: the backend's post-processor only trims offsets (byte-level BPE); specials come later
        encodings = self._backend.encode_batch(texts, add_special_tokens=False, is_pretokenized=is_split_into_words)
        return [Segment(encoding.ids, encoding) for encoding in encodings]

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._backend.decode(ids, skip_special_tokens=skip_special_tokens)

    def _save_vocabulary(self, folder: Path) -> None:
        with atomic_path(folder / TOKENIZER_FILE) as temp_path:
            self._backend.save(str(temp_path))

    # ---- the special-token layout: the file's post-processor, unless the family states its own ----

    def _fill(self, ids: list[int], pair_ids: list[int] | None) -> list[tuple[int, int, int]]:
        """(token id, type id, is special) for each position of the laid-out sequence."""
        if self._templates is None:
            return list(zip(super().build_inputs_with_special_tokens(ids, pair_ids),
                            super().create_token_type_ids_from_sequences(ids, pair_ids),
                            super().get_special_tokens_mask(ids, pair_ids)))
        sequences = {"A": ids, "B": pair_ids or []}
        laid_out = []
        for kind, value, type_id in self._templates[0 if pair_ids is None else 1]:
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

    def _config_dict(self) -> dict[str, Any]:
        config = super()._config_dict()
        if type(self) is PreTrainedTokenizerFast:
            config["tokenizer_class"] = "PreTrainedTokenizerFast"  # HF's generic class of the same name
        return config


def require_sentencepiece(slow_name: str, fast_name: str) -> None:
    """Slow SentencePiece tokenizers need the ``sentencepiece`` package; the fast ones read tokenizer.json without it."""
    import importlib.util

    if importlib.util.find_spec("sentencepiece") is None:
        raise ImportError(f"{slow_name} needs the sentencepiece package (pip install sentencepiece). {fast_name} reads "
                          "the same vocabulary from tokenizer.json without it: use it, or AutoTokenizer (use_fast=True).")
