"""Relation-model inference: polyrel's predictor in float32 and bf16, and a plain batched float32 loop, on the same pairs.

The model scores every ordered pair of gold entities of a fixed sample of CrossRE English test
sentences (seed 0, as `polyrel evaluate --sample`) three ways on one device, in one run:
- `plain_fp32`: the baseline a Hugging Face user would write: float32, batches of `--batch-size`
  pairs in input order, one encoder row per pair;
- `fp32` and `bf16`: `RelationPredictor.probabilities` (length-sorted batches, a pair and its mirror
  reading one encoder row), weights in float32, then in bf16 (what `--precision auto` picks on a
  CPU or GPU with native bf16);
- `int8` (CPU only): the float32 model with its dense layers quantized to int8 on the fly
  (`torch.ao.quantization.quantize_dynamic`, activations quantized per batch), not a product path
  yet: it measures whether int8 would beat bf16 here.
Recorded: pairs/s of each (encoding excluded: all score the same encoded pairs), bf16's decision
agreement with float32, the largest probability difference, and micro/macro-F1 of each.
On a CPU also the ceiling the hardware sets: the encoder's dense layers need a known number of
multiply-adds per token, so the bf16 matmul rate measured here at the model's shape bounds the
pairs/s of these pairs, whatever the code around the matmuls does (attention and the rest excluded).

    python -m benchmarks.inference_precision --data ../shared/data/crossre [--model DIR] [--sample 300] [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import results_file
from polyrel.model.precision import cpu_flags, cpu_has_bf16
from polyrel.model.relation.encoding import collate
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.relation.training import build_instances, decode, score_instances
from polyrel.model.training.data import read_corpus, sample
from polyrel.pipeline import defaults

RESULTS = Path(__file__).resolve().parent / "results" / "inference_precision.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (en/*-test.json.gz)")
    parser.add_argument("--model", type=Path, default=Path(defaults.default_model_dir()), help="relation model directory")
    parser.add_argument("--sample", type=int, default=300, help="test sentences (fixed, seed 0)")
    parser.add_argument("--batch-size", type=int, default=64, help="distinct inputs per forward pass")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the record goes")
    args = parser.parse_args(argv)
    sentences = sample(read_corpus(sorted(str(p) for p in (args.data / "en").glob("*-test.json.gz"))).sentences, args.sample)
    runs, probabilities, predictors = {}, {}, {}
    variants = [("plain_fp32", "fp32"), ("fp32", "fp32"), ("bf16", "bf16")]
    if not args.device.startswith("cuda"):
        variants.append(("int8", "fp32"))
    for name, precision in variants:
        predictor = RelationPredictor.load(args.model, device=args.device, precision=precision)
        if name == "int8":
            from torch.ao.quantization import quantize_dynamic

            predictor.model = quantize_dynamic(predictor.model, {torch.nn.Linear}, dtype=torch.qint8)
        instances = build_instances(sentences, predictor.encoder, predictor.config.task, predictor.config.pairs)
        fit = [i for i in instances if i.encoded is not None]
        score = plain_loop if name == "plain_fp32" else RelationPredictor.probabilities
        score(predictor, [i.encoded for i in fit[:64]], args.batch_size)  # warm-up
        synchronize(args.device)
        started = time.perf_counter()
        probs = score(predictor, [i.encoded for i in fit], args.batch_size)
        synchronize(args.device)
        seconds = time.perf_counter() - started
        report = score_instances(instances, fit, probs, predictor.config)
        probabilities[name] = (probs, predictor.config)
        predictors[name] = predictor
        runs[name] = {"pairs": len(fit), "seconds": round(seconds, 2), "pairs_per_s": round(len(fit) / seconds, 1),
                      "micro_f1": round(report.micro_f1, 4), "macro_f1": round(report.macro_f1, 4)}
        print(f"{name}: {runs[name]}", flush=True)
    (p32, config), (p16, _) = probabilities["fp32"], probabilities["bf16"]
    agreement = float(np.mean([a == b for a, b in zip(decode(p32, config), decode(p16, config))]))
    record = {
        "command": results_file.command("benchmarks.inference_precision", argv),
        "machine": {"host": platform.node(), "device": device_name(args.device), "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "cpu_bf16": cpu_has_bf16()},
        "model": results_file.model_label(args.model), "sentences": len(sentences), "runs": runs,
        "bf16_over_fp32_speed": round(runs["bf16"]["pairs_per_s"] / runs["fp32"]["pairs_per_s"], 2),
        "bf16_over_plain_fp32_speed": round(runs["bf16"]["pairs_per_s"] / runs["plain_fp32"]["pairs_per_s"], 2),
        "decision_agreement": round(agreement, 4),
        "max_probability_difference": round(float(np.abs(p32 - p16).max()), 4),
        "micro_f1_difference_points": round(100 * (runs["bf16"]["micro_f1"] - runs["fp32"]["micro_f1"]), 2),
    }
    if "int8" in probabilities:
        p8 = probabilities["int8"][0]
        record["int8"] = {
            "over_bf16_speed": round(runs["int8"]["pairs_per_s"] / runs["bf16"]["pairs_per_s"], 2),
            "decision_agreement": round(float(np.mean([a == b for a, b in zip(decode(p32, config), decode(p8, config))])), 4),
            "micro_f1_difference_points": round(100 * (runs["int8"]["micro_f1"] - runs["fp32"]["micro_f1"]), 2),
        }
    if not args.device.startswith("cuda"):
        record["dense_layer_ceiling"] = dense_ceiling(predictors["bf16"], [i.encoded for i in fit], runs["bf16"]["pairs_per_s"])
    results_file.write(args.results, record)
    print(record)
    return 0


def plain_loop(predictor: RelationPredictor, pairs: list, batch_size: int) -> np.ndarray:
    """Batches of `batch_size` pairs in input order, each pair its own padded encoder row, float32."""
    model, config = predictor.model, predictor.config
    pad_id = predictor.encoder.tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            inputs = collate(pairs[start:start + batch_size], pad_id, share=False)
            logits = model(**{k: v.to(device) for k, v in inputs.items()}).float()
            out.append(config.probabilities(logits).cpu().numpy())
    return np.concatenate(out)


def dense_ceiling(predictor: RelationPredictor, pairs: list, achieved: float) -> dict:
    """The most pairs/s these pairs allow if the encoder's dense layers ran at the bf16 matmul
    rate measured now (one [tokens x hidden] @ [hidden x intermediate] product, the model's shape),
    with the CPU's model name and whether it has AMX (which would raise that rate)."""
    config = predictor.model.encoder.config
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    tokens = sum(len(ids) for ids in {p.input_ids for p in pairs})  # one encoder row per distinct input
    flops = 2 * tokens * layers * (4 * hidden * hidden + 2 * hidden * inner)
    x, w = torch.randn(4096, hidden, dtype=torch.bfloat16), torch.randn(inner, hidden, dtype=torch.bfloat16)
    torch.nn.functional.linear(x, w)
    started, n = time.perf_counter(), 20
    for _ in range(n):
        torch.nn.functional.linear(x, w)
    rate = n * 2 * 4096 * hidden * inner / (time.perf_counter() - started)
    ceiling = len(pairs) / (flops / rate)
    return {"cpu": cpu_model(), "amx": "amx_bf16" in cpu_flags(), "bf16_matmul_gflops": round(rate / 1e9, 1),
            "dense_gflop_per_pair": round(flops / len(pairs) / 1e9, 3), "pairs_per_s": round(ceiling, 1),
            "bf16_share_of_ceiling": round(achieved / ceiling, 3)}


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_name(device: str) -> str:
    return torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu"


if __name__ == "__main__":
    raise SystemExit(main())
