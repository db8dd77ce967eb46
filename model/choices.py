"""The named choices of a model's configuration, importable without torch: the CLI lists them
in `--help`, which must not wait for deep-learning libraries to load."""

from __future__ import annotations

from typing import Literal

POOLINGS: tuple[str, ...] = ("ss", "es", "emp", "es+type")  # model/relation/modeling.py
WordJoining = Literal["spaced", "as_written"]  # model/relation/encoding.py: how CJK words meet their pieces
WORD_JOININGS: tuple[str, ...] = ("spaced", "as_written")
Precision = Literal["auto", "bf16", "fp32"]  # model/precision.py
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32")
