"""Exceptions raised by the exporter.

Every refusal names where in the estimator it happened (the *step path*, e.g.
``steps[0] 'prep' > transformers[1] 'cat'``), the class, and the option, so that a
user can find the offending piece of a large pipeline.
"""
from __future__ import annotations

from typing import Optional, Sequence


def format_path(path: Sequence[str]) -> str:
    return " > ".join(path)


class ExportError(Exception):
    """Base class: the estimator could not be exported."""


class UnsupportedError(ExportError):
    """The estimator (or one of its steps, or an option of one) has no Kiln equivalent.

    Attributes: ``path`` (list of step labels), ``cls`` (class name), ``option``
    (offending option, or None), ``detail`` (the free-text reason).
    """

    def __init__(self, path: Sequence[str], cls: str, detail: str, option: Optional[str] = None):
        self.path = list(path)
        self.cls = cls
        self.option = option
        self.detail = detail
        where = format_path(self.path)
        head = f"{where} ({cls})" if where else cls
        super().__init__(f"{head}: {detail}")


class VerificationError(ExportError):
    """The exported model does not reproduce the estimator's own answers (an exporter bug)."""


def unsupported_option(path, obj, option: str, value) -> UnsupportedError:
    return UnsupportedError(path, type(obj).__name__,
                            f"option {option}={value!r} is not supported", option=option)
