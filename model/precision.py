"""The float type a device computes in: bfloat16 where the hardware runs it natively, else float32.

bf16 matmuls ran about 4× faster than float32 on a CPU with AVX-512-BF16/AMX, and GPUs since
Ampere have bf16 tensor cores; elsewhere bf16 is emulated and slower, so `auto` falls back to
float32. Weights and optimizer state stay float32: only the forward pass runs under autocast.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from pathlib import Path

import torch
from torch import nn

from polyrel.model.choices import PRECISIONS

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them in /proc/cpuinfo (elsewhere: none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split())


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively."""
    return not cpu_flags().isdisjoint(CPU_BF16_FLAGS)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve(precision: str, device: str) -> torch.dtype:
    """The compute dtype for `precision` on `device`: `auto` is bf16 where native, else float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {PRECISIONS}")
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def autocast(device: str, dtype: torch.dtype) -> AbstractContextManager:
    """Autocast to `dtype` on `device`'s type; a no-op for float32."""
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)


def for_inference(model: nn.Module, precision: str, device: str) -> nn.Module:
    """`model` on `device` in the compute type `precision` resolves to, in eval mode.

    On a CPU in bf16 the encoder's attention runs as plain matmuls ("eager"): PyTorch's fused CPU
    attention kernel was the slower of the two at the relation model's shapes on this project's
    CPU (a one-off check, not a recorded benchmark); `benchmarks/inference_precision.py` measures
    the whole predictor.
    """
    dtype = resolve(precision, device)
    encoder = getattr(model, "encoder", None)
    if dtype == torch.bfloat16 and not device.startswith("cuda") and hasattr(encoder, "set_attn_implementation"):
        encoder.set_attn_implementation("eager")
    return model.to(device=device, dtype=dtype).eval()
