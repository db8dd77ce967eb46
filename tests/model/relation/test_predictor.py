import numpy as np
import pytest

from polyrel.model.relation.predictor import decide


class Config:
    output_labels = ("no_relation", "a", "b")
    task = "extract"
    threshold = None


def test_decide_extract_and_classify():
    probs = np.array([0.5, 0.3, 0.2])
    assert decide(probs, Config, None) == []
    assert decide(probs, Config, 0.0) == [("a", pytest.approx(0.3))]
    assert decide(probs, Config, 0.25) == [("a", pytest.approx(0.3))]
    assert decide(probs, Config, 0.35) == []
    assert decide(np.array([0.2, 0.3, 0.5]), Config, None) == [("b", pytest.approx(0.5))]

    class Classify:
        output_labels = ("a", "b", "c")
        task = "classify"
        softmax = False
        threshold = None

    assert decide(np.array([0.6, 0.1, 0.9]), Classify, None) == [("c", pytest.approx(0.9)), ("a", pytest.approx(0.6))]
    assert decide(np.array([0.6, 0.1, 0.9]), Classify, 0.7) == [("c", pytest.approx(0.9))]

    class SoftmaxClassify(Classify):
        softmax = True

    for classify in (Classify, SoftmaxClassify):  # no "none" output: with no threshold, at least the top label
        assert decide(np.array([0.3, 0.3, 0.4]), classify, None) == [("c", pytest.approx(0.4))]
        assert decide(np.array([0.3, 0.3, 0.4]), classify, 0.5) == []


def test_the_models_own_threshold_applies_unless_the_caller_gives_one():
    class Chosen(Config):
        threshold = 0.35

    probs = np.array([0.4, 0.3, 0.3])  # "a" beats nothing but reaches 0.25
    assert decide(probs, Chosen, None) == []
    assert decide(np.array([0.2, 0.4, 0.4]), Chosen, None) == [("a", pytest.approx(0.4))]
    assert decide(probs, Chosen, 0.25) == [("a", pytest.approx(0.3))]
