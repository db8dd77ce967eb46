"""Flex-template entry point: template parameters arrive as `--name=value` flags.

polyrel's options are the template's declared parameters (metadata.json); every other flag
(runner, project, region, sdk_container_image, …) is forwarded to Beam.
"""

from __future__ import annotations

import sys

from polyrel.cli import main

POLYREL_FLAGS = ("inputs", "out", "model", "ner", "ner_model", "stanza_dir", "lang", "max_entities",
                 "max_pair_distance", "max_pairs_per_doc", "restrict_type_pairs", "threshold", "min_entity_score", "cjk_words", "max_doc_chars",
                 "batch_size", "encoder_batch", "num_shards", "inference_shards", "device", "precision", "run_id")


def translate(argv: list[str]) -> list[str]:
    ours, inputs, beam = [], [], []
    for arg in argv:
        name, _, value = arg.removeprefix("--").partition("=")
        if name == "inputs":
            inputs += value.split(",")
        elif name == "restrict_type_pairs":
            ours += ["--restrict-type-pairs"] if value.lower() in ("1", "true", "yes") else []
        elif name in POLYREL_FLAGS:
            ours += [f"--{name.replace('_', '-')}={value}"]
        else:
            beam.append(arg)
    return ["run", *inputs, *ours, "--runner", "DataflowRunner", "--beam-args", *beam]


if __name__ == "__main__":
    sys.exit(main(translate(sys.argv[1:])))
