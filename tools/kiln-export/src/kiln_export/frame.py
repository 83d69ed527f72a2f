"""Frames as the exporter tracks them while walking a pipeline.

A frame is the ordered list of columns a step receives (see docs/model-format.md,
*Frames*). Besides what the engine needs, the exporter remembers for each column where it
came from: ``source`` is the index of the input it is an affine image of
(``value = input * scale + offset``), or None. That lets the row synthesiser turn numbers the
fitted estimator knows (scaler means, tree thresholds, ...) back into input values.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Set


@dataclasses.dataclass
class Col:
    name: Optional[str]            # sklearn's feature name for this column, when known
    kind: str = "number"           # "number" | "string" | "unknown" (an input not yet typed)
    source: Optional[int] = None   # input index this column is an affine image of
    scale: float = 1.0
    offset: float = 0.0

    def affine(self, a: float = 1.0, b: float = 0.0, name: Optional[str] = None) -> "Col":
        """A numeric column computed from this one as ``v * a + b``."""
        return Col(name=name, kind="number", source=self.source,
                   scale=self.scale * a, offset=self.offset * a + b)

    def same(self, name: Optional[str] = None, kind: Optional[str] = None) -> "Col":
        """This column, unchanged in value (possibly renamed / retyped)."""
        return dataclasses.replace(self, name=name, kind=kind or self.kind)

    def to_input(self, v: float) -> Optional[float]:
        """Map a value in this column's coordinates back to the input's, if possible."""
        if self.source is None or self.scale == 0.0:
            return None
        x = (float(v) - self.offset) / self.scale
        return x if x == x and abs(x) != float("inf") else None


@dataclasses.dataclass
class Frame:
    cols: List[Col]
    named: bool = False            # True only for the inputs frame: columns selectable by name

    @property
    def width(self) -> int:
        return len(self.cols)

    def names(self) -> List[Optional[str]]:
        return [c.name for c in self.cols]


@dataclasses.dataclass
class InputInfo:
    """What the walk learnt about one input."""
    categories: Optional[list] = None      # known categories (union over encoders), None: not categorical
    dtype: Optional[str] = None            # "string" | "number" when categorical
    string_fill: bool = False              # a string-filling imputer consumes it
    pandas_categories: Optional[list] = None  # the estimator reads it as a pandas category column
    accepts_unknown: bool = True           # every encoder consuming it tolerates unseen values
    hints: List[float] = dataclasses.field(default_factory=list)      # interesting numbers
    thresholds: List[float] = dataclasses.field(default_factory=list)  # tree split points


class Context:
    """State shared by one export: per-input knowledge gathered while walking the steps."""

    def __init__(self, n_inputs: int):
        self.inputs: Dict[int, InputInfo] = {i: InputInfo() for i in range(n_inputs)}

    def info(self, col: Col) -> Optional[InputInfo]:
        return None if col.source is None else self.inputs[col.source]

    def hint(self, col: Col, value) -> None:
        """Remember ``value`` (in ``col``'s coordinates) as an interesting input value."""
        info = self.info(col)
        if info is None:
            return
        try:
            x = col.to_input(float(value))
        except (TypeError, ValueError):
            return
        if x is not None:
            info.hints.append(x)

    def threshold(self, col: Col, value) -> None:
        info = self.info(col)
        if info is None:
            return
        x = col.to_input(float(value))
        if x is not None:
            info.thresholds.append(x)
