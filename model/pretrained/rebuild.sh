#!/usr/bin/env bash
# Rebuild the shipped default models from CrossRE English (train + dev of all six domains),
# with the seeds and settings recorded in MODEL_CARD.md:
#
#   bash model/pretrained/rebuild.sh ../shared/data/crossre
#
# The NER model was trained on an H200 (bf16 autocast): a CPU rebuild follows the same recipe
# but its weights differ in the last digits. Needs the offline encoder (installed on first use).
set -euo pipefail
data=${1:?usage: rebuild.sh CROSSRE_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
train=("$data"/en/*-train.json.gz)
dev=("$data"/en/*-dev.json.gz)
polyrel ner train --train "${train[@]}" --dev "${dev[@]}" --dev-sample 400 --lora-r 8 --epochs 10 --seed 13 \
  --output "$here/ner-e5-small" --quiet
# The relation model trains the encoder's last layer in full (--top-layers 1); about 75 minutes on a 2-core CPU.
polyrel train --train "${train[@]}" --dev "${dev[@]}" --dev-sample 400 --top-layers 1 --lr 1e-4 --head-lr 1e-3 \
  --neg-ratio 2 --word-joining as_written --epochs 10 --patience 3 --seed 13 \
  --output "$here/relation-e5-small" --quiet
