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
# --word-joining spaced: the shipped relation model predates as_written (its measured table is for spaced).
polyrel train --train "${train[@]}" --dev "${dev[@]}" --dev-sample 400 --lora-r 0 --epochs 40 --head-lr 1e-2 \
  --word-joining spaced \
  --batch-size 64 --patience 8 --seed 13 --output "$here/relation-e5-small" --quiet
