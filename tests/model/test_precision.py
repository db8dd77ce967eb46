import pytest
import torch

from polyrel.model import precision


def test_forced_precisions_and_auto_follows_the_hardware(monkeypatch):
    assert precision.resolve("fp32", "cpu") == torch.float32
    assert precision.resolve("bf16", "cpu") == torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.resolve("auto", "cpu") == torch.float32
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.resolve("auto", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision"):
        precision.resolve("fp8", "cpu")


def test_autocast_runs_matmuls_in_the_chosen_type():
    a = torch.ones(4, 4)
    with precision.autocast("cpu", torch.bfloat16):
        assert (a @ a).dtype == torch.bfloat16
    with precision.autocast("cpu", torch.float32):
        assert (a @ a).dtype == torch.float32
