"""Relation-extraction scores over (pair, label) decisions.

Micro P/R/F1 counts every predicted and gold label of every pair, "no relation" excluded
(ACE style). Macro-F1 follows CrossRE's evaluation (scikit-learn's classification_report
over multi-label indicators): the mean of per-label F1 over the labels that have support
in the gold data, so a label never seen in test cannot pull the average down or up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

NONE = "no_relation"


@dataclass
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass
class Report:
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float
    per_label: list[LabelScore]
    confusion_labels: list[str]
    confusion: list[list[int]]
    n_pairs: int
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def table(self) -> str:
        """A readable per-label table with the summary scores under it."""
        lines = [f"{'label':<22}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}{'pred':>7}"]
        for s in self.per_label:
            lines.append(
                f"{s.label:<22}{s.precision:7.3f}{s.recall:7.3f}{s.f1:7.3f}{s.support:9d}{s.predicted:7d}"
            )
        lines.append(
            f"micro P {self.micro_precision:.4f}  R {self.micro_recall:.4f}  F1 {self.micro_f1:.4f}"
            f"  | macro-F1 {self.macro_f1:.4f}  | pairs {self.n_pairs}"
        )
        return "\n".join(lines)


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def confusion(
    gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], labels: Sequence[str]
) -> list[list[int]]:
    """Rows gold, columns predicted, over `labels` + "no relation" (last).

    A matched label counts on the diagonal; the remaining gold and predicted labels of a pair
    pair up in sorted order, and leftovers meet "no relation".
    """
    order = [*labels, NONE]
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for g, p in zip(gold, pred):
        for label in g & p:
            matrix[index[label]][index[label]] += 1
        missed, wrong = sorted(g - p), sorted(p - g)
        width = max(len(missed), len(wrong))
        missed += [NONE] * (width - len(missed))
        wrong += [NONE] * (width - len(wrong))
        for a, b in zip(missed, wrong):
            matrix[index[a]][index[b]] += 1
        if not g and not p:
            matrix[index[NONE]][index[NONE]] += 1
    return matrix


def score(
    gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], labels: Sequence[str]
) -> Report:
    """Scores per pair: `gold[i]` and `pred[i]` are the label sets of pair i (empty: no relation)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold pairs but {len(pred)} predictions")
    all_labels = list(labels) + sorted({l for s in (*gold, *pred) for l in s} - set(labels))
    per_label = []
    tp_total = pred_total = gold_total = 0
    for label in all_labels:
        tp = sum(1 for g, p in zip(gold, pred) if label in g and label in p)
        n_pred = sum(1 for p in pred if label in p)
        n_gold = sum(1 for g in gold if label in g)
        per_label.append(LabelScore(label, *_prf(tp, n_pred, n_gold), n_gold, n_pred))
        tp_total, pred_total, gold_total = tp_total + tp, pred_total + n_pred, gold_total + n_gold
    supported = [s.f1 for s in per_label if s.support > 0]
    micro = _prf(tp_total, pred_total, gold_total)
    return Report(
        micro_precision=micro[0], micro_recall=micro[1], micro_f1=micro[2],
        macro_f1=sum(supported) / len(supported) if supported else 0.0,
        per_label=per_label,
        confusion_labels=[*all_labels, NONE],
        confusion=confusion(gold, pred, all_labels),
        n_pairs=len(gold),
    )


def write_report(report: Report, path: str | Path, png: str | Path | None = None) -> None:
    """JSON report, plus the confusion matrix as a PNG when asked (needs matplotlib)."""
    Path(path).write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    if png is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(report.confusion_labels)
    fig, ax = plt.subplots(figsize=(0.45 * n + 2, 0.45 * n + 1.5))
    ax.imshow(report.confusion, cmap="Blues")
    ax.set_xticks(range(n), report.confusion_labels, rotation=90)
    ax.set_yticks(range(n), report.confusion_labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(report.confusion):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
