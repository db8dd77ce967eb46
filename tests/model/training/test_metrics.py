import pytest

from polyrel.model.training.metrics import score

F = frozenset


def test_micro_and_macro_by_hand():
    # pairs: gold / predicted
    gold = [F({"a"}), F({"a"}), F({"b"}), F(), F({"a", "b"})]
    pred = [F({"a"}), F({"b"}), F(), F({"c"}), F({"a"})]
    report = score(gold, pred, ["a", "b", "c"])
    # a: tp 2 (pairs 0,4), pred 2, gold 3 -> P 1, R 2/3, F1 0.8
    # b: tp 0, pred 1, gold 2 -> F1 0 ; c: tp 0, pred 1, gold 0 (no support)
    # micro: tp 2, pred 4, gold 5 -> P .5, R .4, F1 4/9
    assert report.micro_precision == pytest.approx(0.5)
    assert report.micro_recall == pytest.approx(0.4)
    assert report.micro_f1 == pytest.approx(4 / 9)
    # CrossRE macro: only labels with gold support (a, b): (0.8 + 0) / 2
    assert report.macro_f1 == pytest.approx(0.4)
    by_label = {s.label: s for s in report.per_label}
    assert by_label["a"].f1 == pytest.approx(0.8) and by_label["c"].support == 0


def test_confusion_matrix_rows_gold_columns_pred():
    gold = [F({"a"}), F({"a"}), F(), F({"b"})]
    pred = [F({"a"}), F({"b"}), F({"a"}), F()]
    report = score(gold, pred, ["a", "b"])
    labels = report.confusion_labels
    assert labels == ["a", "b", "no_relation"]
    m = {(labels[i], labels[j]): v for i, row in enumerate(report.confusion) for j, v in enumerate(row) if v}
    assert m == {("a", "a"): 1, ("a", "b"): 1, ("no_relation", "a"): 1, ("b", "no_relation"): 1}


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score([F()], [], ["a"])
