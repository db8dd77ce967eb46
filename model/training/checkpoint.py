"""The resume state of an interrupted training run, written without pickle.

Tensors (trainable weights, optimizer moments, torch's generator states) go to
`checkpoint.safetensors`; everything else (settings, history, schedule, optimizer scalars,
Python's and NumPy's generator states) to `checkpoint.json`. Loading either never runs code,
so a checkpoint in a folder someone else can write is data, not a program. Both files carry the
epoch they describe and are renamed into place, the JSON last: a run killed while writing leaves
the previous pair, and a mismatched pair is refused.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

STATE = "checkpoint.json"  # in the output directory while training runs; names the tensor file beside it
TENSORS = "checkpoint.safetensors"


def rng_states(loop: random.Random) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Every random generator the next epoch draws from: JSON parts and tensor parts."""
    numpy_state = np.random.get_state()
    states = {
        "loop": _jsonable(loop.getstate()), "python": _jsonable(random.getstate()),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
    }
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return states, tensors


def restore_rng(states: dict[str, Any], tensors: dict[str, torch.Tensor], loop: random.Random) -> None:
    loop.setstate(_python_state(states["loop"]))
    random.setstate(_python_state(states["python"]))
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def split_optimizer(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """An optimizer's state_dict as JSON (param groups, scalars) plus its tensors."""
    scalars: dict[str, dict[str, Any]] = {}
    tensors: dict[str, torch.Tensor] = {}
    for pid, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}, tensors


def join_optimizer(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(pid): dict(values) for pid, values in meta["scalars"].items()}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = tensor
    return {"state": state, "param_groups": meta["param_groups"]}


def save(directory: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    epoch = str(len(meta["result"]["history"]))
    tmp_tensors, tmp_state = directory / (TENSORS + ".tmp"), directory / (STATE + ".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp_tensors), metadata={"epoch": epoch})
    tmp_state.write_text(json.dumps({**meta, "epoch": epoch}) + "\n", encoding="utf-8")
    os.replace(tmp_tensors, directory / TENSORS)
    os.replace(tmp_state, directory / STATE)


def load(directory: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The JSON state and the tensors; ValueError names the file when the pair does not belong together."""
    path = directory / STATE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        tensors = load_file(str(directory / TENSORS))
        from safetensors import safe_open

        with safe_open(str(directory / TENSORS), "pt") as handle:
            epoch = (handle.metadata() or {}).get("epoch")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from exc
    if epoch != meta.get("epoch"):
        raise ValueError(f"{path}: describes epoch {meta.get('epoch')} but {TENSORS} epoch {epoch}; delete both to start over")
    return meta, tensors


def remove(directory: Path) -> None:
    for name in (STATE, TENSORS):
        (directory / name).unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value


def _python_state(value: list[Any]) -> tuple[Any, ...]:
    version, internal, gauss = value
    return version, tuple(internal), gauss
