"""Shared fixtures: tiny randomly initialised encoders and tokenizers, built locally in seconds.

Two encoder families cover the tokenizer conventions polyrel meets: BERT ([CLS] … [SEP],
word-level vocabulary) and XLM-R (<s> … </s>, SentencePiece-style metaspace pieces).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertModel,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaModel,
    XLMRobertaTokenizerFast,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CROSSRE = Path(os.environ.get("POLYREL_CROSSRE", Path(__file__).resolve().parents[2] / "shared" / "data" / "crossre"))

WORDS = (
    "the of in and to a is was at on for with from by as his her their said capital city company "
    "founded president born works lives visited met berlin paris london tokyo madrid germany france "
    "japan spain anna maria john peter siemens sony acme corp university river north . , ' s"
).split()

TINY_DIMS = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "max_position_embeddings": 128}


def tiny_bert(directory: Path, words: tuple[str, ...] = tuple(WORDS)) -> Path:
    """A 2-layer BERT with a lower-casing word-level tokenizer saved as a Hugging Face directory."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {w: i for i, w in enumerate(dict.fromkeys([*specials, *words]))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), **TINY_DIMS)).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_xlmr(directory: Path, words: tuple[str, ...] = tuple(WORDS)) -> Path:
    """A 2-layer XLM-R with a unigram metaspace tokenizer: words split into ▁word or ▁wo + rd pieces."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces = list(dict.fromkeys(["▁" + w for w in words] + [c for w in words for c in w] + ["▁"]))
    vocab = [(s, 0.0) for s in specials] + [(p, -float(len(p) < 3) - 1.0) for p in pieces] + [("<mask>", 0.0)]
    backend = Tokenizer(models.Unigram(vocab, unk_id=3))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer = XLMRobertaTokenizerFast(tokenizer_object=backend, model_max_length=128)
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(vocab), pad_token_id=1, **{**TINY_DIMS, "max_position_embeddings": 130})
    XLMRobertaModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def unigram_tokenizer(pieces: list[str]) -> XLMRobertaTokenizerFast:
    """An XLM-R style metaspace tokenizer over exactly these pieces (longer pieces preferred)."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = [(s, 0.0) for s in specials] + [(p, -1.0 / len(p)) for p in pieces]
    backend = Tokenizer(models.Unigram(vocab, unk_id=3))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    return XLMRobertaTokenizerFast(tokenizer_object=backend)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_xlmr_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr"))


TINY_TYPES = ("person", "organisation", "location", "country", "misc")
TINY_LABELS = ("physical", "role", "part-of", "general-affiliation", "named")


@pytest.fixture(scope="session")
def tiny_relation_model_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained ETM-EMP extract-mode relation model directory on the tiny BERT."""
    from polyrel.model.relation.training import initialise_model

    directory = tmp_path_factory.mktemp("tiny-relation-model")
    model, tokenizer = initialise_model(
        str(tiny_bert_dir), labels=TINY_LABELS, entity_types=TINY_TYPES, markers="etm",
        pooling="emp", task="extract", max_length=64,
        type_pairs=(("person", "organisation"), ("organisation", "location"), ("person", "location")),
        seed=0,
    )
    model.save_pretrained(directory, tokenizer)
    return directory


@pytest.fixture(scope="session")
def tiny_ner_model_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained NER model on the tiny BERT whose classifier leans to entity tags, so it finds some."""
    from polyrel.model.ner.training import initialise_ner

    directory = tmp_path_factory.mktemp("tiny-ner-model")
    model, tokenizer = initialise_ner(str(tiny_bert_dir), TINY_TYPES, 64, seed=0)
    with torch.no_grad():
        model.classifier.bias[1:] += 1.0  # every tag but "O"
    model.save_pretrained(directory, tokenizer)
    return directory
