"""The ``tuneformers`` logger and the HF-style switches scripts call (``set_verbosity_info()``, ...). No torch.

Every module logs through ``get_logger(__name__)``, under the ``tuneformers`` logger, which prints to stderr
with a short prefix until the application configures logging itself.
"""

from __future__ import annotations

import logging

ROOT = "tuneformers"
_SHORT_FORMAT = "[tuneformers] %(levelname)s: %(message)s"
_EXPLICIT_FORMAT = "[%(levelname)s|%(filename)s:%(lineno)s] %(asctime)s >> %(message)s"
_default_handler: logging.Handler | None = None

CRITICAL, ERROR, WARNING, INFO, DEBUG = logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG


class _DefaultHandler(logging.StreamHandler):
    """Prints to stderr only while the application has configured no logging of its own (no root handler), so
    a script that calls ``logging.basicConfig`` sees each message once, through its own format."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            super().emit(record)


def _root() -> logging.Logger:
    global _default_handler
    root = logging.getLogger(ROOT)
    if _default_handler is None and not root.handlers:
        _default_handler = _DefaultHandler()
        _default_handler.setFormatter(logging.Formatter(_SHORT_FORMAT))
        root.addHandler(_default_handler)
        root.setLevel(logging.INFO)
    return root


def get_logger(name: str | None = None) -> logging.Logger:
    """A logger under the ``tuneformers`` namespace (the root one for None)."""
    root = _root()
    return root if name is None or name == ROOT else logging.getLogger(name if name.startswith(f"{ROOT}.") else name)


def get_verbosity() -> int:
    return _root().getEffectiveLevel()


def set_verbosity(level: int) -> None:
    _root().setLevel(level)


def set_verbosity_debug() -> None:
    set_verbosity(DEBUG)


def set_verbosity_info() -> None:
    set_verbosity(INFO)


def set_verbosity_warning() -> None:
    set_verbosity(WARNING)


def set_verbosity_error() -> None:
    set_verbosity(ERROR)


def enable_default_handler() -> None:
    root = _root()
    if _default_handler is not None and _default_handler not in root.handlers:
        root.addHandler(_default_handler)


def disable_default_handler() -> None:
    if _default_handler is not None:
        _root().removeHandler(_default_handler)


def enable_explicit_format() -> None:
    """File, line and time in front of every message of the package's handlers."""
    for handler in _root().handlers:
        handler.setFormatter(logging.Formatter(_EXPLICIT_FORMAT))


def reset_format() -> None:
    for handler in _root().handlers:
        handler.setFormatter(logging.Formatter(_SHORT_FORMAT))


def enable_propagation() -> None:
    _root().propagate = True


def disable_propagation() -> None:
    _root().propagate = False
