"""kiln_export: export fitted scikit-learn estimators/pipelines to the Kiln model format.

    >>> import kiln_export
    >>> model = kiln_export.export(pipeline, "model.json", name="churn")

See docs/model-format.md for the format and ``kiln-export --help`` for the CLI.
"""
__version__ = "0.1.0"

from .errors import ExportError, UnsupportedError, VerificationError  # noqa: E402
from .api import export, load  # noqa: E402
from .evaluate import check_model, predict_row  # noqa: E402

__all__ = ["export", "load", "ExportError", "UnsupportedError", "VerificationError",
           "check_model", "predict_row", "__version__"]
