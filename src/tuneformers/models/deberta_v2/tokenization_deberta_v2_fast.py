"""DebertaV2TokenizerFast: DeBERTa-v2/v3's SentencePiece (Unigram) pieces from tokenizer.json. No torch.

``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` with token types 0 / 1, as the file's post-processor says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...constants import TOKENIZER_FILE
from ...tokenization_utils_fast import PreTrainedTokenizerFast

SPM_FILE = "spm.model"


class DebertaV2TokenizerFast(PreTrainedTokenizerFast):
    init_options: ClassVar[tuple[str, ...]] = (*PreTrainedTokenizerFast.init_options, "do_lower_case",
                                               "split_by_punct", "add_prefix_space")

    def __init__(self, tokenizer_file: str | Path, bos_token: str | None = "[CLS]", eos_token: str | None = "[SEP]",
                 do_lower_case: bool = False, split_by_punct: bool = False, add_prefix_space: bool = True,
                 **kwargs: Any):
        super().__init__(tokenizer_file, bos_token=bos_token, eos_token=eos_token, **kwargs)
        self.do_lower_case, self.split_by_punct, self.add_prefix_space = do_lower_case, split_by_punct, add_prefix_space

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> DebertaV2TokenizerFast:
        if not (folder / TOKENIZER_FILE).is_file() and (folder / SPM_FILE).is_file():
            raise FileNotFoundError(
                f"{folder} has only the SentencePiece model {SPM_FILE}, no {TOKENIZER_FILE}. Convert it once where HF "
                "transformers is installed (AutoTokenizer.from_pretrained(folder).save_pretrained(folder)), or "
                "pip install sentencepiece and load it with use_fast=False (DebertaV2Tokenizer).")
        return super()._from_folder(folder, options)
