"""The typed-dataclass core under configs, training arguments and the command line. No torch.

One implementation of what ``PretrainedConfig``, ``TrainingArguments``, ``TFTrainingArguments`` and the
``tuneformers`` command share:

* ``check_field_types``: every field's value fits its annotation (ints pass as floats, tuples as lists);
  all mismatches are reported in one ``TypeError``. ``coerce_values`` + ``parameter_types`` do the same for
  keyword arguments (tokenizer options); ``ConfigFileError`` is that error when a file held the values.
* ``ProblemList``: collect every invalid value, then raise one ``ValueError`` listing them all.
* ``unknown_keyword_message``: "Unknown keyword 'num_classes' ... Did you mean 'num_labels'?".
* ``field_docs`` / ``add_dataclass_arguments`` / ``parse_dataclass``: one ``--flag`` per field, grouped by
  ``# -- Heading --`` comments, with the docstring under each field as its ``--help``.
* ``to_json_dict`` / ``from_json_dict``: JSON round trip, unknown keys refused by name.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import enum
import inspect
import json
import math
import textwrap
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal

# ---- "did you mean" ---------------------------------------------------------------------------------


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the known name closest to ``key``, or '' when none is close."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_keyword_message(key: str, known: Iterable[str], what: str) -> str:
    return f"Unknown keyword {key!r}: it is not a {what}.{did_you_mean(key, known)}"


def check_known_keywords(keywords: Iterable[str], known: Iterable[str], what: str) -> None:
    """TypeError for the first keyword that is not in ``known``, with the closest known one as a hint."""
    known = list(known)
    for key in keywords:
        if key not in known:
            raise TypeError(unknown_keyword_message(key, known, what))


# ---- type checks ------------------------------------------------------------------------------------

_MISMATCH = object()


def coerce(value: Any, annotation: Any) -> Any:
    """``value`` if it fits ``annotation`` (ints become floats for float fields, tuples lists), else _MISMATCH."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(annotation):
            return None
        for option in typing.get_args(annotation):
            if option is not type(None):
                coerced = coerce(value, option)
                if coerced is not _MISMATCH:
                    return coerced
        return _MISMATCH
    if origin is Literal:
        return value if value in typing.get_args(annotation) else _MISMATCH
    if annotation is type(None):
        return None if value is None else _MISMATCH
    if annotation is bool:
        return value if isinstance(value, bool) else _MISMATCH
    if annotation is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISMATCH
    if annotation is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _MISMATCH
    if annotation is str:
        return value if isinstance(value, str) else _MISMATCH
    if origin is dict or annotation is dict:
        return value if isinstance(value, dict) else _MISMATCH
    if origin is list or annotation is list:
        if not isinstance(value, (list, tuple)):
            return _MISMATCH
        (item,) = typing.get_args(annotation) or (Any,)
        items = [coerce(element, item) for element in value]
        return _MISMATCH if any(element is _MISMATCH for element in items) else items
    return value if not isinstance(annotation, type) or isinstance(value, annotation) else _MISMATCH


def describe_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if origin is list:
        args = typing.get_args(annotation)
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is Literal:
        return " or ".join(map(repr, typing.get_args(annotation)))
    return getattr(origin or annotation, "__name__", str(annotation))


class ConfigFileError(TypeError, ValueError):
    """A JSON file (config.json, tokenizer_config.json) whose values do not fit what reads them.

    The message names the file, the key, the expected type and the value found. A TypeError, as for
    the same mistake in code, and a ValueError, like every other unusable file.
    """


def coerce_values(values: dict[str, Any], hints: dict[str, Any], owner: str) -> dict[str, Any]:
    """``values`` coerced to ``hints`` (names without a hint pass as they are), or one TypeError naming each misfit."""
    coerced, problems = {}, []
    for name, value in values.items():
        if name not in hints:
            coerced[name] = value
            continue
        coerced[name] = coerce(value, hints[name])
        if coerced[name] is _MISMATCH:
            problems.append(f"{owner}.{name} must be {describe_type(hints[name])}, got {value!r} ({type(value).__name__}).")
    if problems:
        raise TypeError(" ".join(problems) if len(problems) == 1 else "\n  ".join(["Invalid values:", *problems]))
    return coerced


def check_field_types(instance: Any) -> None:
    """Coerce every field of a dataclass instance to its annotation, or raise one TypeError naming each misfit."""
    values = {field.name: getattr(instance, field.name) for field in dataclasses.fields(instance)}
    for name, value in coerce_values(values, typing.get_type_hints(type(instance)), type(instance).__name__).items():
        setattr(instance, name, value)


def parameter_types(cls: type) -> dict[str, Any]:
    """name -> annotation of the keyword parameters of ``cls.__init__`` and its bases' (the subclass's win)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            hints.update({name: hint for name, hint in typing.get_type_hints(init).items() if name != "return"})
        except NameError:  # an annotation only a type checker can resolve: those parameters go unchecked
            continue
    return hints


class ProblemList:
    """Collects what is wrong with a set of values, so that all of it is reported at once.

    >>> problems = ProblemList("TrainingArguments")
    >>> problems.check(rate >= 0, f"learning_rate must be >= 0, got {rate}.")
    >>> problems.raise_if_any()   # one ValueError listing every failed check
    """

    def __init__(self, owner: str):
        self.owner = owner
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.messages.append(message)

    def finite(self, name: str, value: float | None) -> bool:
        """Record a problem if ``value`` is nan or infinite; True when it is a usable number (or None)."""
        if value is None or math.isfinite(value):
            return True
        self.messages.append(f"{name} must be a finite number, got {value}.")
        return False

    def choice(self, name: str, value: Any, choices: Iterable[Any]) -> None:
        choices = tuple(choices)
        if value not in choices:
            self.messages.append(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}.")

    def raise_if_any(self) -> None:
        if len(self.messages) == 1:
            raise ValueError(self.messages[0])
        if self.messages:
            raise ValueError("\n  ".join([f"{len(self.messages)} invalid {self.owner} values:", *self.messages]))


# ---- JSON -------------------------------------------------------------------------------------------


def to_json_dict(instance: Any) -> dict[str, Any]:
    """The init fields of a dataclass instance as a JSON-ready dict."""
    return {field.name: getattr(instance, field.name) for field in dataclasses.fields(instance) if field.init}


def from_json_dict(cls: type, values: dict[str, Any], what: str | None = None) -> Any:
    """``cls(**values)``, with unknown keys refused by name (and the closest field suggested)."""
    names = [field.name for field in dataclasses.fields(cls) if field.init]
    check_known_keywords(values, names, what or f"{cls.__name__} field")
    return cls(**values)


def to_json_string(instance: Any) -> str:
    return json.dumps(to_json_dict(instance), indent=2, sort_keys=True)


# ---- field documentation ----------------------------------------------------------------------------


def field_docs(cls: type) -> dict[str, tuple[str | None, str]]:
    """field name -> (group heading, docstring), read from the class source with ``ast``.

    The docstring is the string literal right under a field; the group is the nearest preceding
    ``# -- Heading --`` comment. Fields of base classes come first; ``metadata["help"]`` wins.
    """
    docs: dict[str, tuple[str | None, str]] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        body = getattr(ast.parse(source).body[0], "body", [])
        for index, node in enumerate(body):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            following = body[index + 1] if index + 1 < len(body) else None
            doc = ""
            if (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                doc = " ".join(inspect.cleandoc(following.value.value).split())
            group = None
            for line in reversed(lines[: node.lineno - 1]):
                stripped = line.strip()
                if stripped.startswith("# --") and stripped.endswith("--"):
                    group = stripped.strip("#- ").strip()
                    break
            docs[node.target.id] = (group, doc)
    for field in dataclasses.fields(cls):
        if "help" in field.metadata:
            docs[field.name] = (docs.get(field.name, (None, ""))[0], field.metadata["help"])
    return docs


# ---- dataclass -> argparse --------------------------------------------------------------------------


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_optional(kind: type):
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, negative_flags: bool = False,
                            hyphen_aliases: bool = False) -> argparse.ArgumentParser:
    """Add one ``--field`` per dataclass field of ``cls``, grouped like the class, help = field docstring.

    bool fields take ``--flag`` (true) or ``--flag false``; with ``negative_flags`` a bool field that
    defaults to True also gets ``--no_flag``. List fields take several values; ``X | None`` fields also
    accept the word ``none``; Enum and Literal fields take one of their values; fields without a default
    are required. ``hyphen_aliases`` also accepts ``--field-name`` for ``--field_name``.
    """
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    groups: dict[str | None, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init or field.metadata.get("argparse") is False:
            continue
        group_name, doc = docs.get(field.name, (None, ""))
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name) if group_name else parser
        target = groups[group_name]
        hint = hints[field.name]
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional = len(args) < len(typing.get_args(hint))
            if len(args) != 1:
                raise TypeError(f"{cls.__name__}.{field.name}: cannot make a command-line flag for {hint}.")
            hint = args[0]
        kwargs: dict[str, Any] = {"help": doc or None, "dest": field.name}
        if field.default is not dataclasses.MISSING:
            kwargs["default"] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            kwargs["default"] = field.default_factory()
        else:
            kwargs["required"] = True
        if "default" in kwargs and kwargs["help"]:
            kwargs["help"] += f" (default: {kwargs['default']})"
        if kwargs["help"]:
            kwargs["help"] = kwargs["help"].replace("%", "%%")
        if hint is bool:
            kwargs.update(type=parse_bool, nargs="?", const=True, metavar="BOOL")
        elif typing.get_origin(hint) is list or hint is list:
            (item,) = typing.get_args(hint) or (str,)
            kwargs.update(type=item, nargs="+")
        elif typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            kwargs.update(type=type(choices[0]), choices=choices)
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            kwargs.update(type=hint, choices=list(hint), metavar="{" + ",".join(str(m.value) for m in hint) + "}")
        elif hint in (int, float, str):
            kwargs["type"] = _parse_optional(hint) if optional else hint
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: cannot make a command-line flag for {hint}.")
        names = [f"--{field.name}"] + ([f"--{field.name.replace('_', '-')}"] if hyphen_aliases and "_" in field.name else [])
        target.add_argument(*names, **kwargs)
        if negative_flags and hint is bool and kwargs.get("default") is True:
            target.add_argument(f"--no_{field.name}", action="store_false", dest=field.name,
                                help=f"Set {field.name} to false.")
    return parser


def dataclass_from_namespace(cls: type, namespace: argparse.Namespace):
    """Build ``cls`` from the attributes of ``namespace`` that name its fields."""
    values = vars(namespace)
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.init and f.name in values})


def parse_dataclass(cls: type, args: list[str] | None = None):
    """Parse ``args`` (default: sys.argv[1:]) into an instance of ``cls``; unknown or abbreviated flags are errors."""
    description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    add_dataclass_arguments(parser, cls)
    return dataclass_from_namespace(cls, parser.parse_args(args))
