"""HfArgumentParser: command-line flags from dataclasses, the way Hugging Face scripts build their parsers.

A thin layer over ``typed_dataclass.add_dataclass_arguments`` (the same code that makes the ``tuneformers``
command's flags): one ``--field`` (and ``--field-name``) per field, ``--no_field`` for booleans that default
to True, help from ``field(metadata={"help": ...})`` or the docstring under a field. No torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .typed_dataclass import add_dataclass_arguments, check_known_keywords


class HfArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` filled from one or more dataclass types; parse into instances of them."""

    def __init__(self, dataclass_types: type | Iterable[type], **kwargs: Any):
        super().__init__(**kwargs)
        self.dataclass_types = [dataclass_types] if dataclasses.is_dataclass(dataclass_types) else list(dataclass_types)
        for cls in self.dataclass_types:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"HfArgumentParser takes dataclass types, got {cls!r}.")
            add_dataclass_arguments(self, cls, negative_flags=True, hyphen_aliases=True)

    def parse_args_into_dataclasses(self, args: list[str] | None = None, return_remaining_strings: bool = False,
                                    look_for_args_file: bool = True, args_filename: str | None = None,
                                    ) -> tuple[Any, ...]:
        """One instance per dataclass type, in order; then a Namespace of flags added by hand (if any), then the
        unparsed strings when ``return_remaining_strings``. A ``<script>.args`` file (or ``args_filename``)
        supplies flags that the command line overrides."""
        args = list(sys.argv[1:] if args is None else args)
        args_file = Path(args_filename) if args_filename else (
            Path(sys.argv[0]).with_suffix(".args") if look_for_args_file and sys.argv and sys.argv[0] else None)
        if args_file is not None and args_file.is_file():
            args = args_file.read_text(encoding="utf-8").split() + args
        namespace, remaining = self.parse_known_args(args)
        outputs = [self._instance(cls, namespace) for cls in self.dataclass_types]
        if vars(namespace):
            outputs.append(namespace)
        if return_remaining_strings:
            return (*outputs, remaining)
        if remaining:
            raise ValueError(f"Some arguments are not used by the HfArgumentParser: {remaining}. Check their spelling "
                             "(run the script with --help for the flags).")
        return tuple(outputs)

    def parse_dict(self, values: dict[str, Any], allow_extra_keys: bool = False) -> tuple[Any, ...]:
        """One instance per dataclass type from a dict; unknown keys are an error unless ``allow_extra_keys``."""
        known = {f.name for cls in self.dataclass_types for f in dataclasses.fields(cls) if f.init}
        if not allow_extra_keys:
            check_known_keywords(values, sorted(known), "field of " + ", ".join(c.__name__ for c in self.dataclass_types))
        return tuple(cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.init and f.name in values})
                     for cls in self.dataclass_types)

    def parse_json_file(self, json_file: str | Path, allow_extra_keys: bool = False) -> tuple[Any, ...]:
        path = Path(json_file)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error.msg} (line {error.lineno}).") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object of argument names to values.")
        return self.parse_dict(values, allow_extra_keys)

    def parse_yaml_file(self, yaml_file: str | Path, allow_extra_keys: bool = False) -> tuple[Any, ...]:
        from .utils import require

        yaml = require("yaml", "train", "Reading a YAML arguments file")
        return self.parse_dict(yaml.safe_load(Path(yaml_file).read_text(encoding="utf-8")) or {}, allow_extra_keys)

    @staticmethod
    def _instance(cls: type, namespace: argparse.Namespace) -> Any:
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        values = {name: getattr(namespace, name) for name in names if hasattr(namespace, name)}
        for name in values:
            delattr(namespace, name)
        return cls(**values)
