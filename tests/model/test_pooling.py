import pytest
import torch

from polyrel.model.pooling import Pooler

# batch 1, length 6, hidden 2: rows chosen so each pooling picks distinct values
HIDDEN = torch.tensor([[[0.0, 9.0], [1.0, -1.0], [5.0, 0.0], [2.0, 3.0], [-1.0, 4.0], [7.0, -2.0]]])
HEAD = torch.tensor([[1, 3]])
TAIL = torch.tensor([[4, 5]])
TYPES = torch.tensor([0])


def pool(method, **kw):
    return Pooler(method, 2, **kw)(HIDDEN, HEAD, TAIL, TYPES, TYPES)


def test_ss_is_first_token():
    assert pool("ss").tolist() == [[0.0, 9.0]]


def test_es_concatenates_start_markers_head_first():
    assert pool("es").tolist() == [[1.0, -1.0, -1.0, 4.0]]


def test_emp_is_elementwise_max_over_marker_to_marker():
    # head rows 1..3: max(1,5,2)=5, max(-1,0,3)=3 ; tail rows 4..5: max(-1,7)=7, max(4,-2)=4
    assert pool("emp").tolist() == [[5.0, 3.0, 7.0, 4.0]]


def test_es_type_appends_type_embeddings():
    pooler = Pooler("es+type", 2, n_entity_types=3, type_dim=4)
    out = pooler(HIDDEN, HEAD, TAIL, torch.tensor([1]), torch.tensor([2]))
    expected = torch.cat([HIDDEN[0, 1], HIDDEN[0, 4], pooler.type_embedding.weight[1], pooler.type_embedding.weight[2]])
    assert torch.equal(out[0], expected)
    assert pooler.output_size == 12


def test_emp_ignores_padding_beyond_span():
    hidden = torch.cat([HIDDEN, torch.full((1, 2, 2), 100.0)], dim=1)
    out = Pooler("emp", 2)(hidden, HEAD, TAIL, TYPES, TYPES)
    assert out.tolist() == [[5.0, 3.0, 7.0, 4.0]]


def test_unknown_pooling_rejected():
    with pytest.raises(ValueError, match="unknown pooling"):
        Pooler("mean", 2)
