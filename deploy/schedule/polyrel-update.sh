#!/usr/bin/env bash
# One scheduled knowledge-graph update: an incremental pipeline run over the corpus, then a
# load that brings the graph store up to date with the output's manifest.
#
#   POLYREL_INPUT      corpus: files, directories, globs or URLs, space-separated (required)
#   POLYREL_OUT        pipeline output directory or URL; keeps _manifest.parquet (required)
#   POLYREL_KG_STORE   Oxigraph store directory, on local disk (required)
#   POLYREL_MODEL      relation model directory (or pass --model in the arguments)
#   POLYREL_BIN        the polyrel executable (default: polyrel on PATH)
#   POLYREL_LOCK       lock file (default: $POLYREL_KG_STORE.lock); a run that finds it held exits 0
#   POLYREL_SKIP_RUN=1 only load (the pipeline runs elsewhere, e.g. a Dataflow schedule)
#
# Arguments go to `polyrel run` (e.g. --ner given --threshold 0.5, --full, --runner …,
# --beam-args … last). Both steps are idempotent: a run on unchanged input writes nothing, a
# load of an unchanged manifest inserts nothing, and a load always catches up on runs whose
# load failed or was skipped. The load runs even after a failed run (it loads only committed
# runs). Exit status: non-zero when either step fails.
set -euo pipefail

: "${POLYREL_OUT:?set POLYREL_OUT to the pipeline output directory}"
: "${POLYREL_KG_STORE:?set POLYREL_KG_STORE to the graph store directory}"
polyrel=${POLYREL_BIN:-polyrel}
lock=${POLYREL_LOCK:-${POLYREL_KG_STORE%/}.lock}

mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
if ! flock -n 9; then
    echo "polyrel-update: another update holds $lock; skipping this one" >&2
    exit 0
fi

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }

if [[ "${POLYREL_SKIP_RUN:-0}" != 1 ]]; then
    : "${POLYREL_INPUT:?set POLYREL_INPUT to the corpus location(s)}"
    read -r -a inputs <<<"$POLYREL_INPUT"
    model_args=()
    [[ -n "${POLYREL_MODEL:-}" ]] && model_args=(--model "$POLYREL_MODEL")
    echo "polyrel-update: $(stamp) pipeline ${inputs[*]} -> $POLYREL_OUT"
    "$polyrel" run "${inputs[@]}" --out "$POLYREL_OUT" --incremental "${model_args[@]}" "$@" || run_status=$?
fi

# Load even when the run failed: the store follows only what the manifest has committed, so
# this is always safe, and it catches up on earlier committed runs whose load never happened.
echo "polyrel-update: $(stamp) load $POLYREL_OUT -> $POLYREL_KG_STORE"
"$polyrel" kg load "$POLYREL_OUT" --store "$POLYREL_KG_STORE" || load_status=$?
if (( ${run_status:-0} || ${load_status:-0} )); then
    echo "polyrel-update: $(stamp) FAILED (run exit ${run_status:-0}, load exit ${load_status:-0})" >&2
    exit $(( ${run_status:-0} ? ${run_status:-0} : ${load_status:-0} ))
fi
echo "polyrel-update: $(stamp) done"
