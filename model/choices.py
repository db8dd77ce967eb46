"""The named choices of a model's configuration, importable without torch: the CLI lists them
in `--help`, which must not wait for deep-learning libraries to load."""

from __future__ import annotations

from typing import Literal

MARKER_SCHEMES: tuple[str, ...] = ("um", "etm")  # model/relation/encoding.py: uniform or entity type markers
POOLINGS: tuple[str, ...] = ("ss", "es", "emp", "es+type")  # model/relation/modeling.py
WordJoining = Literal["spaced", "as_written"]  # model/relation/encoding.py: how CJK words meet their pieces
WORD_JOININGS: tuple[str, ...] = ("spaced", "as_written")
# model/relation/modeling.py: every ordered pair a candidate, or one per pair in sentence order with
# direction-tagged labels (the paper's scheme)
PairScheme = Literal["ordered", "unordered"]
PAIR_SCHEMES: tuple[str, ...] = ("ordered", "unordered")
Precision = Literal["auto", "bf16", "fp32"]  # model/precision.py
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32")
